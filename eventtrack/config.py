"""Configuration: defaults, then instance/config.py, then ``EVENTTRACK_*`` environment variables."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

DEFAULTS = {
    "BASE_URL": "http://127.0.0.1:5000",
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_USE_TLS": False,
    "MAIL_FROM": "eventtrack <noreply@eventtrack.invalid>",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis away: each process counts in its own memory meanwhile (limits still hold, per
    # process) instead of answering 500, and goes back to Redis once it answers again.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    # One JSON object per log line (eventtrack.logs), for a log collector.
    "LOG_JSON": False,
    "LOGIN_LINK_MINUTES": 15,
    # A sign-up link proves the address; the account exists only once it is used.
    "SIGNUP_LINK_HOURS": 24,
    # A pass link (and every link in a follow-up email) stops working this long after its
    # meeting ends; then it offers an emailed sign-in link.
    "PASS_LINK_DAYS": 30,
    # How many reverse proxies in front of the app to trust for the client address (ProxyFix).
    "PROXIES": 0,
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # SQLite: copy the write-ahead log into the database from a background thread this
    # often (0: in the commit that fills 1,000 pages of it, SQLite's default).
    "SQLITE_CHECKPOINT_SECONDS": 0.1,
    # A worker trusts an API token it found in the database for this long (0: look it up on
    # every request); a token deleted there stops working within it.
    "API_TOKEN_CACHE_SECONDS": 5.0,
    # A hung or unreachable database costs a request seconds, not a worker: seconds to open a
    # connection (PostgreSQL), to wait for a free one in the pool, and the longest a statement
    # may run (PostgreSQL, milliseconds).
    "DATABASE_CONNECT_TIMEOUT": 5,
    "DATABASE_POOL_TIMEOUT": 10,
    "DATABASE_STATEMENT_TIMEOUT_MS": 30000,
    # flask-smorest / OpenAPI
    "API_TITLE": "eventtrack API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}


def _secret_key(instance: Path) -> str:
    """Return the instance's secret key, generating it on first use."""
    path = instance / "secret_key"
    if not path.exists():
        # Written whole to a temporary file, then linked into place: two workers starting at
        # once keep one key, and neither can read a half-written (empty) file.
        tmp = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def engine_options(config, url: str) -> dict:
    """SQLAlchemy engine options with the configured timeouts."""
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url:
            return {}  # one connection held for the process: no pool to wait for
        # A file: no connect timeout; writers wait in busy_timeout (database.py).
        return {"pool_timeout": float(config["DATABASE_POOL_TIMEOUT"])}
    options = {"pool_timeout": float(config["DATABASE_POOL_TIMEOUT"])}
    # A server connection can drop while it idles in the pool; a SQLite file cannot.
    options["pool_pre_ping"] = True
    # Added to the URL's own ``options`` (e.g. a search_path), which connect_args would replace.
    server = make_url(url).query.get("options", "")
    timeout = f"-c statement_timeout={int(config['DATABASE_STATEMENT_TIMEOUT_MS'])}"
    options["connect_args"] = {
        "connect_timeout": int(config["DATABASE_CONNECT_TIMEOUT"]),
        "options": f"{server} {timeout}".strip(),
    }
    return options


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` in the documented order."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("EVENTTRACK")
    else:
        app.config.from_mapping(test_config)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'eventtrack.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if "SQLALCHEMY_ENGINE_OPTIONS" not in app.config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config, url)
    app.config.setdefault("MAIL_OUTBOX_DIR", str(instance / "mail"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    if app.config["BASE_URL"].startswith("https://"):
        # Served over TLS: cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    # At most 30 days, whatever a config file says: a stolen remember cookie must die.
    days = app.config["REMEMBER_COOKIE_DURATION"]
    if not isinstance(days, timedelta):
        days = timedelta(days=float(days))
    app.config["REMEMBER_COOKIE_DURATION"] = min(days, timedelta(days=30))
