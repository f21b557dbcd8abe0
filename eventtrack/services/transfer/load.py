"""Reading the export file into a database, in the caller's one transaction."""

import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from sqlalchemy import Connection, Table, delete, insert, literal, select, text
from sqlalchemy.exc import StatementError

from ...extensions import db
from .tables import (
    BATCH,
    FORMAT,
    VERSION,
    Progress,
    TableManifest,
    TransferError,
    columns_of,
    decode,
    next_free_id,
    revision_of,
    serial_sequence,
)


class ExportFile:
    """An export file being read: its header is checked on opening, its rows are read once,
    in order, by ``load``."""

    def __init__(self, stream: BinaryIO):
        self._lines = _lines(stream)
        self._hash = hashlib.sha256()
        self.line_number = 0
        header = self._read("the header")
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise TransferError("format", "This is not an eventtrack export file.")
        if header.get("version") != VERSION:
            raise TransferError(
                "format",
                f"Export format version {header.get('version')}; this eventtrack reads version "
                f"{VERSION}.",
            )
        try:
            self.tables = [_manifest(table) for table in header["tables"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise TransferError("corrupt", f"The file's header is damaged ({exc}).") from exc
        self.revision = header.get("revision")
        self.total_rows = sum(t.rows for t in self.tables)

    def _read(self, what: str):
        """The next line's JSON; a cut or damaged file is refused, naming the line."""
        try:
            raw = next(self._lines, None)
        except (OSError, EOFError, zlib.error) as exc:  # gzip: damaged or cut short
            raise TransferError(
                "truncated", f"The file is damaged or cut short after line {self.line_number}."
            ) from exc
        self.line_number += 1
        if raw is None or not raw.endswith(b"\n"):
            raise TransferError(
                "truncated",
                f"The file ends at line {self.line_number}, before {what}: it was cut short.",
            )
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise TransferError(
                "corrupt", f"Line {self.line_number} is damaged (not JSON: {exc})."
            ) from exc
        if not (isinstance(value, dict) and "end" in value):
            self._hash.update(raw)
        return value

    def section(self, manifest: TableManifest) -> None:
        found = self._read(f"the table {manifest.name}")
        if found != {"table": manifest.name, "rows": manifest.rows}:
            raise self._damaged(f"the start of the table {manifest.name}")

    def rows(self, manifest: TableManifest) -> Iterator[list[dict]]:
        """The table's rows as column → value, ``BATCH`` at a time."""
        names = [name for name, _kind in manifest.columns]
        kinds = [kind for _name, kind in manifest.columns]
        batch = []
        for number in range(1, manifest.rows + 1):
            values = self._read(f"row {number:,} of {manifest.rows:,} of {manifest.name}")
            if not isinstance(values, list) or len(values) != len(names):
                raise self._damaged(f"row {number:,} of {manifest.name}")
            try:
                row = zip(names, kinds, values, strict=True)
                batch.append({n: decode(k, v) for n, k, v in row})
            except ValueError as exc:
                raise TransferError(
                    "corrupt", f"Line {self.line_number} ({manifest.name}) is damaged: {exc}."
                ) from exc
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def end(self) -> None:
        """The last line: the row count and hash must be those of what was read."""
        end = self._read("its last line")
        if not isinstance(end, dict) or end.get("end") is not True:
            raise self._damaged("the last line")
        if end.get("rows") != self.total_rows or end.get("sha256") != self._hash.hexdigest():
            raise TransferError(
                "corrupt", "The file was changed since it was written: its checksum differs."
            )
        if next(self._lines, None) is not None:
            raise TransferError("corrupt", f"The file goes on after its last line ({end}).")

    def _damaged(self, what: str) -> TransferError:
        return TransferError(
            "corrupt", f"Line {self.line_number} should be {what}: the file is damaged."
        )


def _manifest(table: dict) -> TableManifest:
    manifest = TableManifest(table["name"], table["columns"], table["rows"], table["next_id"])
    if not (
        isinstance(manifest.name, str)
        and type(manifest.rows) is int
        and manifest.rows >= 0
        and (manifest.next_id is None or type(manifest.next_id) is int)
    ):
        raise ValueError(f"table {manifest.name!r}")
    return manifest


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)
    if stream.peek(2)[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    # Binary lines end at b"\n" only: JSON escapes every line break inside a value.
    yield from stream


def load(export: ExportFile, *, replace: bool = False, progress: Progress | None = None):
    """Write every row of ``export`` into the session's database, in its transaction, and make
    new ids continue after them. Returns {table: rows}. Flushes; the caller commits once.

    The database must be at the file's revision and empty, or with ``replace`` is emptied
    first: if the import then fails, the caller's rollback brings the old rows back.
    """
    session = db.session
    connection = session.connection()
    revision = revision_of(connection)
    if revision != export.revision:
        raise TransferError(
            "revision",
            f"The file is at revision {export.revision}, this database at {revision or 'none'}: "
            "both must be the same (migrate the database with flask db upgrade, or export "
            "again with the same version of eventtrack).",
        )
    tables = db.metadata.sorted_tables
    ours = [(table.name, columns_of(table)) for table in tables]
    theirs = [(t.name, t.columns) for t in export.tables]
    if ours != theirs:
        different = sorted({n for n, _c in ours} ^ {n for n, _c in theirs}) or [
            a[0] for a, b in zip(ours, theirs, strict=True) if a != b
        ]
        raise TransferError(
            "tables", f"The file's tables differ from this version's: {', '.join(different)}."
        )
    if replace:
        _empty(connection, tables)
    else:
        filled = [t.name for t in tables if session.scalar(select(literal(1)).select_from(t))]
        if filled:
            raise TransferError(
                "not_empty",
                f"The database is not empty ({', '.join(filled)}): import into a new, migrated "
                "database, or pass --replace to replace everything in it.",
            )
    for table, manifest in zip(tables, export.tables, strict=True):
        export.section(manifest)
        for batch in export.rows(manifest):
            try:
                session.execute(insert(table), batch)
            except StatementError as exc:
                raise TransferError(
                    "rejected", f"The database refused a row of {table.name}: {exc.orig}"
                ) from exc
            if progress:
                progress(len(batch))
    export.end()
    _continue_ids(connection, zip(tables, export.tables, strict=True))
    return {t.name: t.rows for t in export.tables}


def _empty(connection: Connection, tables: list[Table]) -> None:
    if connection.dialect.name == "postgresql":
        # One TRUNCATE, in the transaction like any statement: a DELETE of users would look up
        # each user's rows in every table that refers to it, on columns with no index (a
        # registration's checked_in_by_id), among the rows just deleted: 100,000 users took
        # past the 30-second statement timeout.
        names = ", ".join(connection.dialect.identifier_preparer.format_table(t) for t in tables)
        connection.execute(text(f"TRUNCATE {names}"))
    else:
        for table in reversed(tables):  # children first, as the foreign keys want
            connection.execute(delete(table))


def _continue_ids(connection: Connection, tables) -> None:
    """New rows take ids after the imported ones, and after the source's ``next_id``."""
    for table, manifest in tables:
        if table.autoincrement_column is None:
            continue
        wanted = max(manifest.next_id or 1, next_free_id(connection, table))
        if connection.dialect.name == "postgresql":
            sequence = serial_sequence(connection, table)
            if sequence is not None:
                # setval is not undone by a rollback: it never goes below where it was.
                connection.execute(
                    text("SELECT setval(:sequence, :next, false)"),
                    {"sequence": sequence, "next": wanted},
                )
        elif table.dialect_options["sqlite"]["autoincrement"]:
            seen = {"name": table.name, "seq": wanted - 1}
            updated = connection.execute(
                text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :name"), seen
            )
            if updated.rowcount == 0:
                connection.execute(
                    text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"), seen
                )
