"""Logs: one JSON object per line with ``LOG_JSON`` (for journald, Loki, Elasticsearch …), plain
readable lines otherwise.

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, the extra
fields a call passes (``log.info("…", extra={"sent": 3})``), ``method``, ``path`` and
``remote_addr`` inside a request (the address is the client's behind ``PROXIES`` trusted
proxies), and an exception as one string field ``exc_info``: a traceback never spreads over
several lines. A dozen lines of the standard library, not python-json-logger: nothing here
needs more than ``json.dumps``.

``init_logging(app)`` runs in ``create_app``, so it holds for gunicorn's workers and for every
``flask --app eventtrack …`` command, the mail worker included. gunicorn's own lines (boot,
worker restarts) are JSON too when it is started with ``deploy/gunicorn.conf.py``.
"""

import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask, has_request_context, request

# What every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            data.update(method=request.method, path=request.path, remote_addr=request.remote_addr)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc_info"] = record.exc_text
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an odd extra value (a datetime, an id object) must not lose the line.
        return json.dumps(data, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (as logging's last resort
    does), not to the one there was when the app was made: tests and runners swap it."""

    def __init__(self, level: int = logging.NOTSET):
        logging.Handler.__init__(self, level)

    @property
    def stream(self):
        return sys.stderr


def _ours(handler: logging.Handler) -> bool:
    return getattr(handler, "eventtrack", False)


def _install(logger: logging.Logger, formatter: logging.Formatter) -> None:
    handler = _StderrHandler()
    handler.eventtrack = True
    handler.setFormatter(formatter)
    logger.addHandler(handler)


def init_logging(app: Flask) -> None:
    """Log JSON lines (``LOG_JSON``) or plain ones; safe to call for every app a process makes."""
    root = logging.getLogger()
    package = logging.getLogger("eventtrack")  # also Flask's ``app.logger``
    for logger in (root, package):
        for handler in [h for h in logger.handlers if _ours(h)]:
            logger.removeHandler(handler)
    if package.level == logging.NOTSET:
        package.setLevel(logging.DEBUG if app.debug else logging.INFO)
    if app.config.get("LOG_JSON"):
        # Every logger's lines (Flask-Limiter's, SQLAlchemy's, Werkzeug's), not only ours.
        _install(root, JsonFormatter())
        root.setLevel(logging.INFO)
        from flask.logging import default_handler

        package.removeHandler(default_handler)  # would print a second, plain line
    elif not root.handlers:
        # Nobody configured logging (gunicorn leaves the root alone, so does click): our
        # lines, INFO and up, plainly. Where someone did (a test runner, a logging config),
        # our lines go to their handlers as before.
        _install(package, logging.Formatter(PLAIN_FORMAT))
