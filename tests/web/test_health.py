"""/healthz and /readyz, and what a request gets while the database is away: a clean 503 (JSON
for the API and the probes, the app's own page for people) and service again by itself."""

from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.web import health

MIGRATIONS = Path(__file__).parents[2] / "migrations"


@contextmanager
def app_on(app_config, url, **extra):
    app = create_app({**app_config, "DATABASE_URL": url, **extra})
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_readyz_is_ready_once_migrated_to_the_head(app_config, tmp_path):
    with app_on(app_config, f"sqlite:///{tmp_path / 'r.sqlite3'}") as app:
        empty = app.test_client().get("/readyz")
        flask_migrate.upgrade(revision="0006_trust")
        behind = app.test_client().get("/readyz")
        flask_migrate.upgrade()
        ready = app.test_client().get("/readyz")

    assert empty.status_code == 503 and "not migrated" in empty.get_json()["reason"]
    assert behind.status_code == 503
    assert "behind the migrations" in behind.get_json()["reason"]
    assert "flask db upgrade" in behind.get_json()["reason"]
    assert "0006" not in behind.get_data(as_text=True)  # revisions are for the log
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    assert ready.headers["Cache-Control"] == "no-store"


def test_the_test_databases_head_is_the_newest_migration():
    head = health.migrations_head(
        str(__import__("pathlib").Path(__file__).parents[2] / "migrations")
    )
    assert head and head.startswith("00")


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/no/such/dir/x.sqlite3", "postgresql://postgres@127.0.0.1:1/test"],
    ids=["SQLite file cannot be opened", "PostgreSQL port closed"],
)
def test_an_unreachable_database_answers_503_not_500(app_config, tmp_path, url):
    with app_on(app_config, url.format(tmp=tmp_path)) as app:
        client = app.test_client()
        probe = client.get("/healthz")
        ready = client.get("/readyz")
        api = client.get("/api/v1/groups/1/members", headers={"Authorization": "Bearer x" * 3})
        page = client.get("/organise/", headers={"Cookie": "session=whatever"})
        page_sign_in = client.post("/login", data={"email": "a@example.com", "password": "x"})

    assert probe.status_code == 503 and probe.get_json()["error"]["code"] == "unavailable"
    assert probe.headers["Retry-After"] == "5"
    assert ready.status_code == 503 and "unreachable" in ready.get_json()["reason"]
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "unavailable"
    for response in (page, page_sign_in):
        assert response.status_code in (302, 503)
    assert page_sign_in.status_code == 503
    assert "Back in a moment" in page_sign_in.text and "<!doctype html>" in page_sign_in.text


def test_service_resumes_by_itself_when_the_database_comes_back(app_config, tmp_path):
    directory = tmp_path / "later"
    with app_on(app_config, f"sqlite:///{directory / 'x.sqlite3'}") as app:
        client = app.test_client()
        away = client.get("/healthz")
        directory.mkdir()  # the volume is back
        flask_migrate.upgrade()
        back = client.get("/healthz")
        ready = client.get("/readyz")

    assert away.status_code == 503
    assert back.status_code == 200 and ready.status_code == 200


def test_engine_options_carry_the_timeouts(app_config):
    with app_on(
        app_config,
        "postgresql://postgres@127.0.0.1:1/test",
        DATABASE_CONNECT_TIMEOUT=3,
        DATABASE_STATEMENT_TIMEOUT_MS=2500,
        DATABASE_POOL_TIMEOUT=4,
    ) as app:
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        assert db.engine.pool.timeout() == 4

    assert options["connect_args"] == {"connect_timeout": 3, "options": "-c statement_timeout=2500"}
    assert options["pool_pre_ping"] is True
