"""Command line for moving house: ``flask --app eventtrack export-data FILE`` and
``… import-data FILE`` (the file's format: ``services.transfer``)."""

import gzip
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import click

from .services import transfer
from .services.errors import DomainError
from .transaction import atomic


@click.command("export-data")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export_data(file):
    """Write the whole database to FILE, for import-data to load elsewhere.

    FILE holds every table, every row, in one consistent snapshot: JSON lines with a header
    (format version, migration revision, tables in foreign-key order, row counts) and a
    checksum at the end; gzip-compressed when FILE ends in .gz; '-' writes to standard output.
    The database must be migrated (flask db upgrade). The file appears only once complete.
    """
    try:
        with (
            transfer.Snapshot.open() as snapshot,
            _output(file) as out,
            _progress(snapshot.total_rows, "Exporting") as bar,
        ):
            snapshot.write(out, progress=bar.update)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"exported {snapshot.total_rows:,} rows of {len(snapshot.tables)} tables "
        f"(revision {snapshot.revision}) to {file}",
        err=True,
    )


@click.command("import-data")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--replace",
    is_flag=True,
    help="Delete every row in the database first, in the same transaction.",
)
def import_data(file, replace):
    """Load FILE, written by export-data, into this database: all of it or nothing.

    The database must be at the file's migration revision (flask db upgrade) and empty, or
    given --replace, which deletes its rows in the same transaction: if the import fails,
    they stay. A file cut short or changed (its checksum) is refused and nothing is written.
    New ids continue after the imported ones. '-' reads standard input; gzip is recognised.
    Stop the app and its workers first.
    """
    try:
        export = transfer.ExportFile(file)
        with atomic(), _progress(export.total_rows, "Importing") as bar:
            counts = transfer.load(export, replace=replace, progress=bar.update)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"imported {sum(counts.values()):,} rows of {len(counts)} tables "
        f"(revision {export.revision}) from {file.name}"
    )


@contextmanager
def _output(file: str) -> Iterator[BinaryIO]:
    """Standard output, or FILE written under another name and renamed once complete."""
    if file == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = Path(f"{file}.partial")
    # The file holds every secret of the installation (pass tokens, password hashes, sign-in
    # links in queued mail): readable by its owner only, and never written through a link.
    partial.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        with os.fdopen(os.open(partial, flags, 0o600), "wb") as raw:
            if file.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as zipped:
                    yield zipped
            else:
                yield raw
        os.replace(partial, file)
    finally:
        partial.unlink(missing_ok=True)


def _progress(total: int, label: str):
    # On standard error: standard output may be the file itself.
    return click.progressbar(length=total, label=label, file=sys.stderr)


COMMANDS = (export_data, import_data)


def register(app) -> None:
    """Add these commands to ``app.cli`` (called from ``cli.init_cli``)."""
    for command in COMMANDS:
        app.cli.add_command(command)
