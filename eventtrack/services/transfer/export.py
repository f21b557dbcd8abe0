"""Writing the export file: one snapshot of the whole database, streamed table by table."""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import BinaryIO

from sqlalchemy import Connection, func, select

from ...extensions import db
from .tables import (
    BATCH,
    FORMAT,
    VERSION,
    Progress,
    TableManifest,
    TransferError,
    columns_of,
    encode,
    migrations_head,
    next_free_id,
    revision_of,
)


class Snapshot:
    """One consistent read of the whole database, to be written as an export file."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.revision = revision_of(connection)
        head = migrations_head()
        if self.revision != head:
            raise TransferError(
                "not_migrated",
                f"The database is at revision {self.revision or 'none'}, the code's migrations "
                f"at {head}: run flask db upgrade first.",
            )
        self.tables = [
            TableManifest(
                table.name,
                columns_of(table),
                connection.scalar(select(func.count()).select_from(table)),
                next_free_id(connection, table),
            )
            for table in db.metadata.sorted_tables
        ]
        self.total_rows = sum(t.rows for t in self.tables)

    @classmethod
    @contextmanager
    def open(cls) -> Iterator["Snapshot"]:
        """A snapshot on a connection of its own, which reads and writes nothing else."""
        engine = db.engine
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                # pysqlite begins a transaction only before a write: without one, each table
                # would be read as it is at that moment, not as it was at the first.
                connection.exec_driver_sql("BEGIN")
            yield cls(connection)  # closing the connection rolls its read transaction back

    def write(self, out: BinaryIO, progress: Progress | None = None) -> None:
        """Write the export file to ``out``, calling ``progress(rows)`` after each batch."""
        writer = _Writer(out)
        writer.line(
            {
                "format": FORMAT,
                "version": VERSION,
                "revision": self.revision,
                "exported_from": self.connection.dialect.name,
                "exported_at": datetime.now(UTC).isoformat(),
                "tables": [t.as_json() for t in self.tables],
            }
        )
        tables = {table.name: table for table in db.metadata.sorted_tables}
        for manifest in self.tables:
            table = tables[manifest.name]
            writer.line({"table": manifest.name, "rows": manifest.rows})
            kinds = [kind for _name, kind in manifest.columns]
            result = self.connection.execution_options(yield_per=BATCH).execute(
                select(table).order_by(*table.primary_key.columns)
            )
            written = 0
            for rows in result.partitions():
                for row in rows:
                    writer.line(
                        [encode(kind, value) for kind, value in zip(kinds, row, strict=True)]
                    )
                written += len(rows)
                if progress:
                    progress(len(rows))
            if written != manifest.rows:  # the snapshot did not hold: never write such a file
                raise RuntimeError(f"{manifest.name}: counted {manifest.rows}, read {written}")
        writer.end()


class _Writer:
    def __init__(self, out: BinaryIO):
        self.out, self.hash, self.rows = out, hashlib.sha256(), 0

    def line(self, value) -> None:
        data = _dumps(value)
        self.hash.update(data)
        self.out.write(data)
        self.rows += isinstance(value, list)

    def end(self) -> None:
        self.out.write(_dumps({"end": True, "rows": self.rows, "sha256": self.hash.hexdigest()}))


def _dumps(value) -> bytes:
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    ).encode()
