"""The outbox: enqueue mail in the caller's transaction; deliver it later, exactly once.

- ``queue``: what a message may hold, and ``queue_mail`` / ``enqueue``, which write it in the
  caller's transaction (``INSERT … ON CONFLICT (dedup_key) DO NOTHING``: a repeated cause queues
  nothing new). Everything that makes a message what it is (Message-ID, headers, bodies,
  attachments) is fixed at enqueue, so a retried delivery is the same message.
- ``mime``: the bytes of a queued message (``build_message``).
- ``transports``: SMTP, or .eml files when no server is configured.
- ``delivery``: claims, results, backoff; statements only. The loop that runs them and commits
  after each step is the worker's: ``eventtrack.worker.deliver_pending``.

The one window SMTP itself leaves open: a worker killed after the server accepted a message but
before the row is marked sent. Its claim goes stale after ``STALE_CLAIM`` and the message is
sent again with the same Message-ID, which receiving systems use to drop duplicates.
"""

from .delivery import (
    BATCH_SIZE,
    MAX_ATTEMPTS,
    STALE_CLAIM,
    DeliverySummary,
    backoff,
    claim_batch,
    claimed_rows,
    deliver_one,
    due,
    due_count,
    release,
    settle,
    status_counts,
    worker_name,
)
from .mime import build_message, message_id_of
from .queue import (
    check_recipient,
    enqueue,
    header_allowed,
    one_line,
    queue_mail,
    queue_many,
    queue_to_member,
    render_mail,
    safe_filename,
    unsubscribe_headers,
)
from .transports import (
    ConnectionFailure,
    FileTransport,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    transport_from_config,
)

__all__ = [
    "BATCH_SIZE",
    "MAX_ATTEMPTS",
    "STALE_CLAIM",
    "ConnectionFailure",
    "DeliverySummary",
    "FileTransport",
    "PermanentFailure",
    "SmtpTransport",
    "TemporaryFailure",
    "backoff",
    "build_message",
    "check_recipient",
    "claim_batch",
    "claimed_rows",
    "deliver_one",
    "due",
    "due_count",
    "enqueue",
    "header_allowed",
    "message_id_of",
    "one_line",
    "queue_mail",
    "queue_many",
    "queue_to_member",
    "release",
    "render_mail",
    "safe_filename",
    "settle",
    "status_counts",
    "transport_from_config",
    "unsubscribe_headers",
    "worker_name",
]
