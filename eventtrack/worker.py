"""The mail worker's delivery loop: the one place where outbox delivery commits.

``services.outbox.delivery`` holds the statements (claim a batch, record a result, hand rows
back); this module runs them on a connection of its own and commits after each step, so that:

- a claim is committed before anything in it is sent (other workers skip it from then on);
- each result is committed right after its message was sent, before the next one is tried:
  a crash loses at most the result of the message in flight (re-sent with the same Message-ID
  once its claim goes stale, see ``services.outbox``);
- whatever was claimed and not tried (stop request, no server) goes back as pending.

Called by ``flask outbox``, ``flask worker`` and the tests and benchmarks.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from flask import current_app

from .extensions import db
from .services import outbox, reminders
from .transaction import atomic, has_unsaved_changes

log = logging.getLogger(__name__)


def queue_due_reminders(now: datetime) -> int:
    """Queue the meeting reminders that are due, in a transaction of their own (called every
    worker round, before delivery, and by ``flask reminders``)."""
    with atomic():
        return reminders.queue_due(now)


def deliver_pending(
    transport,
    now: datetime,
    limit: int = 100,
    progress: Callable[[int], object] | None = None,
    worker: str | None = None,
    batch_size: int = outbox.BATCH_SIZE,
    stop: threading.Event | None = None,
) -> outbox.DeliverySummary:
    """Deliver up to ``limit`` due messages through ``transport``; commit after each one.

    ``now`` is when the run starts (results and retry times count from it). Each claim is
    stamped with the time it happens (``now`` plus the time the run has taken): a run that
    outlasts ``outbox.STALE_CLAIM`` (a slow relay) would otherwise stamp its later batches with
    a time that already looks stale to a second worker, which would claim and send them again.
    """
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    worker = worker or outbox.worker_name()
    summary = outbox.DeliverySummary()
    sender = current_app.config["MAIL_FROM"]
    _end_session_transaction()
    # One connection of its own for the whole run: each claim and each result is a short
    # transaction on it, without the session's per-commit connection check-out and ping.
    with db.engine.connect() as conn, transport:
        while summary.handled < limit:
            batch_started = time.monotonic()
            ids = outbox.claim_batch(
                clock(), min(batch_size, limit - summary.handled), worker, conn
            )
            conn.commit()  # the claim holds before anything in it is sent
            if not ids:
                break
            before = replace(summary, errors=list(summary.errors))
            try:
                carry_on = _deliver_batch(
                    ids, transport, sender, worker, now, conn, summary, progress, stop
                )
                if not carry_on:
                    return summary
            finally:
                _log_batch(worker, len(ids), before, summary, time.monotonic() - batch_started)
    return summary


def _deliver_batch(ids, transport, sender, worker, now, conn, summary, progress, stop) -> bool:
    """Send one claimed batch, committing each result; False: stop the run (asked to stop,
    or no server), the untried rest handed back."""
    rows = outbox.claimed_rows(conn, ids)
    conn.commit()
    for index, row in enumerate(rows):
        if stop is not None and stop.is_set():
            # Asked to stop (SIGTERM): the message in flight was finished; the rest
            # go back untried for the next worker.
            outbox.release(rows[index:], worker, conn)
            conn.commit()
            return False
        connected = outbox.deliver_one(transport, row, sender, worker, now, conn, summary)
        conn.commit()  # this message's result, before the next one is tried
        if not connected:
            # No server: hand the untried rest back unchanged and stop this run.
            outbox.release(rows[index + 1 :], worker, conn)
            conn.commit()
            return False
        if progress is not None:
            progress(1)
    return True


def _log_batch(worker, claimed, before, after, seconds) -> None:
    """One line per claimed batch: what it held and what became of it (an idle round, which
    claims nothing, says nothing)."""
    sent = after.sent - before.sent
    retrying = after.retrying - before.retrying
    failed = after.failed - before.failed
    fields = {
        "worker": worker,
        "claimed": claimed,
        "sent": sent,
        "retrying": retrying,
        "failed": failed,
        # Claimed and neither sent nor failed: handed back (stop, no server) or lost.
        "released": claimed - sent - retrying - failed,
        "seconds": round(seconds, 3),
    }
    errors = after.errors[len(before.errors) :]
    if errors:
        fields["errors"] = errors[:20]
    log.info(
        "outbox batch: claimed %d, sent %d, retrying %d, failed %d in %.3f s",
        claimed,
        sent,
        retrying,
        failed,
        seconds,
        extra=fields,
    )


def _end_session_transaction() -> None:
    """Delivery reads only committed rows, on its own connection: mail queued in the session
    and not committed would stay unseen (PostgreSQL) or hold the write lock our claims wait on
    (SQLite). Queue in ``atomic()`` first; here the session's read transaction ends."""
    if has_unsaved_changes():
        raise RuntimeError(
            "deliver_pending: the session holds changes nobody committed; "
            "queue mail inside atomic() before delivering"
        )
    db.session.commit()  # nothing unsaved (checked above): this ends a read, if any
