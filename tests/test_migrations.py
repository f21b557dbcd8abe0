"""`flask db upgrade` from an empty database builds exactly the models' schema (no drift)."""

import secrets

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from eventtrack import create_app
from eventtrack.extensions import db


def _fresh_database_url(database_url, tmp_path):
    """An empty database of the same kind as the suite's: a new file, or a new PG schema."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}", None
    schema = f"drift_{secrets.token_hex(4)}"
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options=-csearch_path%3D{schema}", (engine, schema)


def test_upgrade_from_empty_matches_the_models(app_config, database_url, tmp_path):
    url, cleanup = _fresh_database_url(database_url, tmp_path)
    app = create_app({**app_config, "DATABASE_URL": url})
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
                tables = set(db.inspect(conn).get_table_names())
            db.engine.dispose()
        assert diff == []
        assert {"users", "groups", "meetings", "registrations", "outbox_messages"} <= tables
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


def test_downgrade_to_empty_and_up_again(app_config, database_url, tmp_path):
    url, cleanup = _fresh_database_url(database_url, tmp_path)
    app = create_app({**app_config, "DATABASE_URL": url})
    try:
        with app.app_context():
            flask_migrate.upgrade()
            flask_migrate.downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(db.inspect(conn).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()
