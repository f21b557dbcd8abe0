"""gunicorn settings for eventtrack: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Used by deploy/eventtrack-web.service (docs/deploy.md); a command-line option wins over a
setting here (the tests bind a free port with ``-b``).
"""

import json
import multiprocessing
import os


def _flag(name: str) -> bool:
    """An environment flag read the way Flask's from_prefixed_env reads it (1, true, 0 …)."""
    value = os.environ.get(name, "")
    try:
        return bool(json.loads(value))
    except ValueError:
        return bool(value)


# nginx on the same box talks to this address; with nginx on another box bind a private
# address (and let only nginx reach it).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
# The per-request heartbeat in memory, not on a disk busy with fsyncs (README, Performance).
# gunicorn makes its files there with mkstemp (private, unpredictable names).
worker_tmp_dir = "/dev/shm"  # noqa: S108
# A request never needs this long (the database timeouts answer 503 first): a stuck worker
# is killed and replaced.
timeout = 30
# SIGTERM (systemctl stop/restart): requests in flight get this long to finish.
graceful_timeout = 25
# nginx keeps connections to us open (upstream keepalive).
keepalive = 5
# The access log is nginx's; gunicorn logs its own events (boot, worker restarts) to stderr.
accesslog = None
errorlog = "-"

if _flag("EVENTTRACK_LOG_JSON"):
    # gunicorn's own lines as JSON too, like the app's (eventtrack/logs.py).
    logconfig_dict = {
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False},
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {"json": {"()": "eventtrack.logs.JsonFormatter"}},
    }
