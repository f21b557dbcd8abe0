"""Database engine settings that must hold for every connection, and driver-level statements
for the hot path."""

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial

from flask import Flask
from sqlalchemy import ClauseElement, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

from .extensions import db
from .models.types import UTCDateTime

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection, _record, *, autocheckpoint: int) -> None:
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
    cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
    cursor.close()


def insert_ignoring(table: Table, *unique_columns: str):
    """``INSERT … ON CONFLICT (unique_columns) DO NOTHING`` for the session's database: the
    unique key decides between concurrent inserts, in the caller's transaction.

    Not a savepoint around an ORM add: on SQLite a savepoint that opens the transaction is
    committed when it is released, and a rollback after it would keep the row.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(unique_columns))


def init_database(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            return
        seconds = float(app.config["SQLITE_CHECKPOINT_SECONDS"])
        # With checkpoints in the background, SQLite's own (in the commit that fills 1,000
        # pages of log) only step in if those fall behind.
        autocheckpoint = 10_000 if seconds > 0 else 1000
        event.listen(engine, "connect", partial(_sqlite_pragmas, autocheckpoint=autocheckpoint))
        path = engine.url.database
        if seconds > 0 and _is_file(path):

            @app.before_request
            def _checkpoints_in_the_background():
                _Checkpointer.ensure(path, seconds)


def _is_file(path: str | None) -> bool:
    return bool(path) and path != ":memory:" and not path.startswith("file:")


class _Checkpointer:
    """Copies a SQLite file's write-ahead log back into the database from a thread of each
    process, every ``seconds``, instead of in the commit that happens to fill the log.

    SQLite's automatic checkpoint runs inside a commit: every thousand pages of log, one
    request writes them all back and waits for two fsyncs (10-20 ms on this project's virtual
    disks; the copying itself takes under 1 ms), while the writers queued behind it wait too.
    SQLite's documentation suggests running them from a separate thread instead. A passive
    checkpoint never waits for a lock, and Python's sqlite3 lets go of the GIL while it works.

    The log starts over only when a checkpoint has copied all of it, which under writes
    without a pause a background one never quite does; SQLite's own checkpoint, moved from
    1,000 to 10,000 pages (40 MB of log), then does it in a commit, about once a second at
    full load. Its fsyncs cost what is still unsynced, so the thread runs often (0.1 s by
    default): what is left for that commit is a tenth of a second of log. With one checkpoint
    a second, the door's p99 at 50 connections was 43-52 ms, with one every 0.1 s 33-37 ms.
    """

    _running: dict[tuple[int, str], "_Checkpointer"] = {}

    @classmethod
    def ensure(cls, path: str, seconds: float) -> None:
        _per_process(cls._running, path, lambda path: cls(path, seconds))

    def __init__(self, path: str, seconds: float):
        self.path, self.seconds = path, seconds
        thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        thread.start()

    def _run(self) -> None:
        connection = None
        failing = False
        while True:
            time.sleep(self.seconds)
            try:
                if connection is None:  # opened here: the file may be away for a while
                    connection = sqlite3.connect(
                        self.path, isolation_level=None, check_same_thread=False
                    )
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                failing = False
            except sqlite3.Error:
                if not failing:  # once, not every second
                    log.exception("Background checkpoint of %s failed", self.path)
                failing = True


class DriverStatement:
    """One statement of a hot path, handed straight to the database driver.

    For a short statement SQLAlchemy's per-execution work (cache key, bind and result
    processing, result metadata) costs several times what the database takes to run it. The
    door's check-in runs a few statements per scan, hundreds of times a second, so those are
    written once as portable SQL with ``:name`` parameters and run on a DBAPI cursor: of the
    session's own connection, in the session's transaction and committed or rolled back with
    it, or of a ``DriverTransaction``.
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
        self.statement: ClauseElement | None = None
        self.datetimes = datetimes
        self._prepared: dict[str, tuple[str, Callable, dict]] = {}

    @classmethod
    def compiled(cls, statement: ClauseElement, datetimes: tuple[str, ...] = ()):
        """The SQLAlchemy ``statement``, compiled once per dialect on first use: a hot path
        written with the same expressions as the ORM paths (``services.rules``), run as
        driver-level SQL. Its own ``bindparam`` names are the parameters; the values the
        expressions hold (vocabulary words) are bound as compiled."""
        self = cls.__new__(cls)
        self.sql, self.statement, self.datetimes, self._prepared = "", statement, datetimes, {}
        return self

    def _compile(self, dialect) -> tuple[str, dict]:
        # The dialect's own compiler with ``:name`` placeholders, turned into the driver's
        # paramstyle below as for hand-written SQL.
        named = type(dialect)(paramstyle="named")
        if dialect.name == "sqlite":
            named.statement_compiler = _SQLiteQualifiedReturning
        compiled = self.statement.compile(dialect=named)
        constants = {
            name: str(value) if isinstance(value, str) else value
            for name, value in compiled.params.items()
            if value is not None
        }
        return str(compiled), constants

    def _prepare(self, dialect) -> tuple[str, Callable, dict]:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            sql, constants = (self.sql, {}) if self.statement is None else self._compile(dialect)
            if dialect.paramstyle == "pyformat":  # psycopg; sqlite3 takes :name as it is
                sql = _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
            elif dialect.paramstyle not in ("named", "qmark"):
                raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
            # The dialect's own type: on SQLite it writes the text the ORM writes.
            bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
            prepared = self._prepared[dialect.name] = (sql, bind, constants)
        return prepared

    def first(self, params: dict, on: "DriverTransaction | None" = None) -> tuple | None:
        """Run with ``params`` in the transaction ``on``, or else in the session's; the first
        row it returns, if it returns rows."""
        if on is None:
            connection = db.session.connection()
            dialect, dbapi_connection = connection.dialect, connection.connection.dbapi_connection
        else:
            dialect, dbapi_connection = on.dialect, on.dbapi_connection
        sql, bind, constants = self._prepare(dialect)
        if self.datetimes:
            params = {**params, **{name: bind(params[name]) for name in self.datetimes}}
        if constants:
            params = {**constants, **params}
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else None
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                sql, params, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        finally:
            cursor.close()


class DriverTransaction:
    """One transaction of driver statements, in one of two modes the caller names:

    - ``DriverTransaction.own(writes=…)``: a pooled connection of its own, given back as soon
      as the transaction ends. The session's unit of work (its transaction, identity map,
      commit bookkeeping) costs several times what a one-row write does; the door's hot path
      skips it. The session must hold nothing unsaved (that would be a second, unseen
      transaction), and a read-only transaction it is in is ended first: a request never holds
      two pooled connections at once, which could leave threads each holding one and waiting
      for a second. ``writes=True`` says the transaction will write: on SQLite it then waits
      its turn in the writers' queue (``_SqliteWriters``) from the start until it ends.
    - ``DriverTransaction.joined()``: the session's transaction, on the session's connection;
      ``commit`` and ``rollback`` are the session's.
    - ``DriverTransaction.single_statements()`` (PostgreSQL): ``own`` in autocommit, for a hot
      path written as one statement; the connection leaves autocommit before the pool has it.

    ``with DriverTransaction.own() as tx: …; tx.commit()``: what is neither committed nor
    rolled back is rolled back when the block ends. ``mode`` says which one this is.
    """

    OWN, JOINED = "own", "joined"

    def __init__(self, mode: str, writes: bool = False, autocommit: bool = False):
        self.mode = mode
        self._writers = None
        self._autocommit = False
        self._session = self._pooled = None
        if mode == self.JOINED:
            session = db.session()
            connection = session.connection()
            self._session = session
            self.dialect = connection.dialect
            self.dbapi_connection = connection.connection.dbapi_connection
        elif mode == self.OWN:
            _end_read_only_session()
            engine = db.engine
            try:
                self._pooled = engine.raw_connection()
            except engine.dialect.loaded_dbapi.Error as exc:
                # raw_connection() passes the driver's error through unwrapped; raised as the
                # session would raise it (OperationalError: the database is away).
                raise DBAPIError.instance(
                    None, None, exc, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
                ) from exc
            self.dialect = engine.dialect
            self.dbapi_connection = self._pooled.dbapi_connection
            if autocommit:
                if engine.dialect.name != "postgresql":
                    self._release()
                    raise ValueError("DriverTransaction autocommit: PostgreSQL only")
                # Checked out idle (the pool rolls back what it is given back).
                self.dbapi_connection.autocommit = self._autocommit = True
            if writes and engine.dialect.name == "sqlite":
                self._writers = _sqlite_writers(engine.url.database)
                if self._writers is not None:
                    self._writers.acquire()
        else:
            raise ValueError(f"DriverTransaction mode {mode!r}")

    @classmethod
    def own(cls, writes: bool = False) -> "DriverTransaction":
        return cls(cls.OWN, writes)

    @classmethod
    def single_statements(cls) -> "DriverTransaction":
        """``own``, in autocommit: each statement is a transaction of its own, committed by
        the server before it answers: one round trip, no BEGIN and no COMMIT. PostgreSQL only
        (its statements can write to several tables at once: DML in WITH)."""
        return cls(cls.OWN, writes=True, autocommit=True)

    @classmethod
    def joined(cls) -> "DriverTransaction":
        return cls(cls.JOINED)

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()
        else:
            try:
                self.dbapi_connection.commit()
            except self.dialect.loaded_dbapi.Error as exc:
                # The connection was lost at COMMIT (or the database refused it): raised as the
                # session would raise it, so the request answers 503 like any database outage.
                # The outcome is unknown to us; the caller's retry finds it (idempotent).
                if self._pooled is not None:
                    self._pooled.invalidate(exc)  # never back into the pool
                    self._pooled = None
                raise DBAPIError.instance(
                    "COMMIT", None, exc, self.dialect.loaded_dbapi.Error, dialect=self.dialect
                ) from exc
            finally:
                self._release()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        else:
            self._release()

    def _release(self) -> None:
        if self._writers is not None:
            self._writers.release()
            self._writers = None
        if self._autocommit and self._pooled is not None:
            self._autocommit = False
            try:
                # Never back into the pool in autocommit: the next user expects transactions.
                self.dbapi_connection.autocommit = False
            except self.dialect.loaded_dbapi.Error as exc:  # lost meanwhile
                self._pooled.invalidate(exc)
                self._pooled = self.dbapi_connection = None
        if self._pooled is not None:
            self._pooled.close()  # back to the pool, which rolls back whatever is left
            self._pooled = self.dbapi_connection = None

    def __enter__(self) -> "DriverTransaction":
        return self

    def __exit__(self, *exc_info) -> None:
        self._release()


def _end_read_only_session() -> None:
    """End the session's transaction, which must hold nothing unsaved, giving back its
    connection. Its objects stay in the session, to be read again when next used."""
    from .transaction import has_unsaved_changes

    registry = db.session.registry
    if not registry.has():
        return
    session = registry()
    if has_unsaved_changes(session):
        raise RuntimeError("DriverTransaction.own: the session holds unsaved changes")
    if session.in_transaction():
        # Nothing to write: this only ends the transaction. What the request loaded stays
        # loaded (not expired), so it is not read again after the check-in.
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire


class _SQLiteQualifiedReturning(SQLiteCompiler):
    """SQLAlchemy's SQLite compiler writes RETURNING columns without their table, and that
    reaches into correlated subqueries there too (``WHERE user_id = user_id``, always true).
    SQLite takes qualified names in RETURNING, so for driver statements they stay qualified."""

    def returning_clause(self, stmt, returning_cols, *, populate_result_map, **kw):
        return SQLCompiler.returning_clause(
            self, stmt, returning_cols, populate_result_map=populate_result_map, **kw
        )


_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_QUOTED = re.compile(r"'(?:[^']|'')*'")


class _SqliteWriters:
    """The queue of this app's hot-path writers to one SQLite file, across processes.

    SQLite lets one writer in at a time; one that finds the write lock taken sleeps in its
    busy handler for 1 ms, then 2, 5, 10 … ms, whereas a door write holds the lock for a
    tenth of that. Under load two workers then spend a good part of their time asleep. An
    ``flock`` on a file beside the database (and a thread lock inside the process: flock
    does not tell apart the threads of one process) queues them instead, and the kernel wakes
    the next one the moment the lock is free. SQLite's own locking still decides: the queue
    only orders who asks, and writers that do not use it wait in the busy handler as before.
    """

    def __init__(self, path: str):
        self._fd = os.open(path + "-writers.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._threads = threading.Lock()

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_writers: dict[tuple[int, str], _SqliteWriters] = {}


def _sqlite_writers(path: str | None) -> _SqliteWriters | None:
    """The writers' queue of the SQLite file ``path`` in this process, or None for an
    in-memory database."""
    return _per_process(_writers, path, _SqliteWriters) if _is_file(path) else None


_per_process_lock = threading.Lock()


def _per_process(registry: dict, path: str, make: Callable):
    """The one ``make(path)`` of this process for the file ``path``, kept in ``registry``: a
    forked worker makes its own (its parent's thread and file lock are not its own)."""
    key = (os.getpid(), path)
    found = registry.get(key)
    if found is None:
        with _per_process_lock:
            found = registry.get(key) or registry.setdefault(key, make(path))
    return found
