"""Real processes on loopback, as an operator runs eventtrack on several boxes.

A ``Cluster`` starts gunicorn servers (``gunicorn wsgi:app``) and mail workers (``flask
--app eventtrack worker``) as child processes, each in a process group of its own, all
configured by environment variables the way docs/deploy.md configures them: one PostgreSQL
database, a shared secret key, rate limits in Redis under a key prefix of this cluster's own,
mail to an aiosmtpd sink on loopback (``MailSink``). ``close()`` ends every group it started
(SIGTERM, then SIGKILL) whatever happened, so no process or port outlives a test.

Database: ``database()`` makes one per test run with ``flask db upgrade`` (the release step),
shared by the modules (each seeds a group and meeting of its own and looks only at its own
rows) and dropped when the run ends; its name is the suite's PostgreSQL database's
(``EVENTTRACK_TEST_DATABASE_URL``) with ``_cluster_`` and a random suffix.
"""

from .base import (
    BIN,
    IN_CI,
    PG_URL,
    REDIS_URL,
    ROOT,
    forget_rate_limits,
    free_port,
    require_postgres,
    require_redis,
    wait_for,
)
from .data import (
    Seed,
    check_ins,
    database,
    database_url,
    outbox_rows,
    query,
    queue_test_mail,
    seed,
    server_port,
    stray_check_in_events,
    with_port,
)
from .mail import Hold, MailSink
from .processes import Answer, Cluster, Process, Server, call

__all__ = [
    "BIN",
    "IN_CI",
    "PG_URL",
    "REDIS_URL",
    "ROOT",
    "Answer",
    "Cluster",
    "Hold",
    "MailSink",
    "Process",
    "Seed",
    "Server",
    "call",
    "check_ins",
    "database",
    "database_url",
    "forget_rate_limits",
    "free_port",
    "outbox_rows",
    "query",
    "queue_test_mail",
    "require_postgres",
    "require_redis",
    "seed",
    "server_port",
    "stray_check_in_events",
    "wait_for",
    "with_port",
]
