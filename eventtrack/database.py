"""Database engine settings that must hold for every connection."""

from flask import Flask
from sqlalchemy import event

from .extensions import db


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers proceed during a write; busy_timeout makes writers queue instead of
    # failing with "database is locked"; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_database(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
