"""Database engine settings that must hold for every connection, and driver-level statements
for the hot path."""

import re
from collections.abc import Callable

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from .extensions import db
from .models.types import UTCDateTime


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers proceed during a write; busy_timeout makes writers queue instead of
    # failing with "database is locked"; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Pages another process wrote are read back through a memory map, not read() calls: with
    # several workers each one's page cache is emptied by the others' commits.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def init_database(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


class DriverStatement:
    """One statement of a hot path, handed straight to the database driver.

    For a short statement SQLAlchemy's per-execution work (cache key, bind and result
    processing, result metadata) costs several times what the database takes to run it. The
    door's check-in runs a few statements per scan, hundreds of times a second, so those are
    written once as portable SQL with ``:name`` parameters and run on the DBAPI cursor of the
    session's own connection: in the session's transaction, committed or rolled back with it.
    Datetime parameters (named in ``datetimes``) are bound exactly as ``UTCDateTime`` binds
    them (on SQLite the text compares equal to what the ORM wrote), and driver errors are
    raised as SQLAlchemy's (``IntegrityError`` for a constraint), as the ORM would raise them.
    SQLAlchemy's events (logging, statement counters) do not see these statements.
    """

    def __init__(self, sql: str, datetimes: tuple[str, ...] = ()):
        if any(_NAMED_PARAM.search(quoted) for quoted in _QUOTED.findall(sql)):
            # psycopg's paramstyle is made by rewriting :name, which would also rewrite quotes.
            raise ValueError("no ':name' inside quotes in a DriverStatement")
        self.sql = sql
        self.datetimes = datetimes
        self._prepared: dict[str, tuple[str, Callable]] = {}

    def _prepare(self, dialect) -> tuple[str, Callable]:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            sql = self.sql
            if dialect.paramstyle == "pyformat":  # psycopg; sqlite3 takes :name as it is
                sql = _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
            elif dialect.paramstyle not in ("named", "qmark"):
                raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
            # The dialect's own type: on SQLite it writes the text the ORM writes.
            bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
            prepared = self._prepared[dialect.name] = (sql, bind)
        return prepared

    def first(self, params: dict) -> tuple | None:
        """Run with ``params``; the first row it returns, if it returns rows."""
        connection = db.session.connection()
        sql, bind = self._prepare(connection.dialect)
        if self.datetimes:
            params = {**params, **{name: bind(params[name]) for name in self.datetimes}}
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else None
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                self.sql,
                params,
                exc,
                connection.dialect.loaded_dbapi.Error,
                dialect=connection.dialect,
            ) from exc
        finally:
            cursor.close()


_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_QUOTED = re.compile(r"'(?:[^']|'')*'")
