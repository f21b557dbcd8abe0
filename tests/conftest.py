"""Fixtures: a real database (SQLite file, or PostgreSQL from EVENTTRACK_TEST_DATABASE_URL),
a fresh app per test on a schema built once per session, and the client/runner/auth helpers."""

import os
from datetime import UTC, datetime

import pytest
from flask import g
from sqlalchemy import event, text

from eventtrack import create_app
from eventtrack.extensions import db

from . import factories

PG_URL = os.environ.get("EVENTTRACK_TEST_DATABASE_URL")


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'eventtrack-test.sqlite3'}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app_config(database_url, instance_dir):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_dir),
        "MAIL_OUTBOX_DIR": str(instance_dir / "mail"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://eventtrack.test",
    }


@pytest.fixture(scope="session")
def _schema(app_config):
    app = create_app(app_config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield
        db.drop_all()
        db.engine.dispose()


def _empty_all_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
        # Ids start again at 1, as RESTART IDENTITY does on PostgreSQL.
        db.session.execute(text("DELETE FROM sqlite_sequence"))
    db.session.commit()


@pytest.fixture
def app(_schema, app_config):
    app = create_app(dict(app_config))

    @app.before_request
    def _user_from_this_requests_cookie():
        # Test-client requests share the fixture's app context and so its ``g``; drop the
        # user Flask-Login cached there, so each request signs in from its own session only.
        g.pop("_login_user", None)

    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        _empty_all_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def make(app):
    """Factories bound to the test's app: ``make.user()``, ``make.meeting(group)`` …"""
    return factories


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email="organiser@example.com", password=factories.PASSWORD):
        return self.client.post("/login", data={"email": email, "password": password})

    def login_as(self, user):
        """Sign in any user (members too): a real server-side session, its key in the cookie."""
        from eventtrack.models import utcnow
        from eventtrack.services import sessions

        key = sessions.start(user, utcnow())
        db.session.commit()
        with self.client.session_transaction() as sess:
            sess["_user_id"] = key
            sess["_fresh"] = True
        return key

    def logout(self):
        with self.client.session_transaction() as sess:
            sess.clear()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def count_queries(app):
    """Count SQL statements executed inside the ``with`` block."""

    class Counter:
        def __init__(self):
            self.count = 0

        def __enter__(self):
            event.listen(db.engine, "before_cursor_execute", self._inc)
            return self

        def __exit__(self, *exc):
            event.remove(db.engine, "before_cursor_execute", self._inc)

        def _inc(self, *args):
            self.count += 1

    return Counter
