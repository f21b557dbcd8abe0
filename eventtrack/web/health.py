"""Is it up, is it ready, and what people see while the database is away.

- ``/healthz``: the process answers, with one trivial query (the check-in benchmark's yardstick
  since the start: kept as it was).
- ``/readyz``: the database answers and its schema is at the migrations' head; 503 otherwise,
  for a load balancer to send traffic elsewhere (and for a release: ready once migrated).
- While the database is unreachable (a closed port, a file that cannot be opened, a timeout)
  every request answers a clean 503 with ``Retry-After`` — JSON under /api and for the probes,
  the app's own page for people — and the next request tries again: the pool reconnects by
  itself, so service resumes without a restart.
"""

import logging
from functools import cache

from alembic.script import ScriptDirectory
from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy import inspect, text
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError

from ..extensions import db

log = logging.getLogger(__name__)

RETRY_AFTER = "5"
# Errors that say the database is away, not that a statement was wrong: no connection,
# connection lost, a pool or statement timeout, SQLite's file not openable.
UNAVAILABLE = (OperationalError, InterfaceError, TimeoutError)


@cache
def migrations_head(directory: str) -> str | None:
    """The newest revision in the project's migrations (read once per process)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", directory)
    return ScriptDirectory.from_config(config).get_current_head()


def database_state() -> tuple[bool, str]:
    """(ready, why): the database answers and its revision is the migrations' head."""
    directory = current_app.extensions["migrate"].directory
    try:
        db.session.execute(text("SELECT 1"))
        migrated = inspect(db.session.connection()).has_table("alembic_version")
        revision = (
            db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if migrated
            else None
        )
    except UNAVAILABLE as exc:
        log.warning("not ready: %s", exc)
        return False, "database unreachable"
    finally:
        db.session.rollback()
    if not migrated:
        return False, "database not migrated: run flask db upgrade"
    head = migrations_head(directory)
    if revision != head:
        # The revisions go to the log, not to whoever asks: the probe needs no sign-in.
        log.warning("not ready: database at %s, migrations at %s", revision, head)
        return False, "database behind the migrations: run flask db upgrade"
    return True, "ok"


def _unavailable(exc: Exception):
    log.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already gone; nothing to undo
        db.session.remove()
    message = "The database is not answering. Please try again in a moment."
    headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}
    if request.path.startswith("/api/") or request.path in ("/healthz", "/readyz"):
        body = {"error": {"code": "unavailable", "message": message}}
        return jsonify(body), 503, headers
    # A page of its own: base.html asks for the signed-in user, which needs the database.
    return render_template("errors/unavailable.html", message=message), 503, headers


def init_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        ready, why = database_state()
        return (
            jsonify(status="ready" if ready else "not ready", reason=why),
            (200 if ready else 503),
            {"Cache-Control": "no-store"},
        )

    for error in UNAVAILABLE:
        app.register_error_handler(error, _unavailable)
