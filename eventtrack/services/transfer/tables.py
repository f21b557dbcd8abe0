"""What the export file says of each table and value, and of the database it came from."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.types import TypeDecorator

from ..errors import DomainError

FORMAT = "eventtrack-export"
VERSION = 1
BATCH = 1000
# Column kinds by SQLAlchemy type, most specific first (Text is a String, and so on).
KINDS = (
    (Boolean, "boolean"),
    (DateTime, "datetime"),
    (Date, "date"),
    (Integer, "integer"),
    (JSON, "json"),
    (String, "text"),
)

Progress = Callable[[int], None]


class TransferError(DomainError):
    """The file or the database it goes into says no; nothing was written."""


@dataclass(frozen=True)
class TableManifest:
    name: str
    columns: list[list[str]]  # [name, kind] in the table's order
    rows: int
    next_id: int | None

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "columns": self.columns,
            "rows": self.rows,
            "next_id": self.next_id,
        }


def column_kind(table: Table, column) -> str:
    column_type = column.type
    while isinstance(column_type, TypeDecorator):
        column_type = column_type.impl
    for sql_type, kind in KINDS:
        if isinstance(column_type, sql_type):
            return kind
    raise TypeError(f"{table.name}.{column.name}: no transfer for {column_type!r} yet")


def columns_of(table: Table) -> list[list[str]]:
    return [[column.name, column_kind(table, column)] for column in table.columns]


def encode(kind: str, value):
    if value is not None and kind in ("datetime", "date"):
        return value.isoformat()
    return value


def decode(kind: str, value):
    """The value of a column of ``kind`` as the file holds it; ValueError when it cannot be."""
    if value is None or kind == "json":
        return value
    expected = {"integer": int, "text": str, "boolean": bool, "datetime": str, "date": str}[kind]
    if type(value) is not expected:  # noqa: E721 - True is an int, and must not pass as one
        raise ValueError(f"{kind} expected, found {json.dumps(value)[:40]}")
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


def revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def migrations_head() -> str | None:
    return ScriptDirectory(current_app.extensions["migrate"].directory).get_current_head()


def next_free_id(connection: Connection, table: Table) -> int | None:
    """The lowest id a new row of ``table`` may take in this database."""
    column = table.autoincrement_column
    if column is None:
        return None
    top = connection.scalar(select(func.max(column))) or 0
    if connection.dialect.name == "postgresql":
        sequence = serial_sequence(connection, table)
        if sequence is not None:
            last, called = connection.execute(
                text(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 - PG's name
            ).one()
            return max(top + 1, last + 1 if called else last)
    elif table.dialect_options["sqlite"]["autoincrement"]:
        seq = connection.scalar(
            text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table.name}
        )
        return max(top, seq or 0) + 1
    return top + 1


def serial_sequence(connection: Connection, table: Table) -> str | None:
    return connection.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": table.autoincrement_column.name},
    )
