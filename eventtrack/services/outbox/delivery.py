"""Delivery, one statement at a time: claim due messages, send one, record its result.

These functions change rows on the connection they are given and never commit: the worker
(``eventtrack.worker.deliver_pending``) runs them in order and commits after each step, which
is what makes every message go out once.

A claim is one ``UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED]) AND <still due>
RETURNING id``: on PostgreSQL concurrent workers skip each other's rows, on SQLite the write
lock serialises the statement and the repeated "still due" condition makes a row taken
meanwhile not match. Each result is a conditional UPDATE that only succeeds while the row is
still this worker's claim. Temporary failures (4xx, connection problems) retry with exponential
backoff; permanent ones (5xx) are kept as ``failed`` with the reason, which organisers see on
the meeting page.
"""

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update

from ...extensions import db
from ...models import OutboxMessage
from ...models.vocabularies import MailStatus
from .mime import build_message
from .transports import ConnectionFailure, PermanentFailure, TemporaryFailure

MAX_ATTEMPTS = 8
# A worker that died mid-send leaves rows in 'sending'; after this long they are retried.
# Batches are small (BATCH_SIZE messages × the SMTP timeout stays far below this), so a
# live worker's claim never goes stale while it still holds unsent rows.
STALE_CLAIM = timedelta(minutes=10)
BATCH_SIZE = 25

_OUTBOX = OutboxMessage.__table__


@dataclass
class DeliverySummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed


def worker_name() -> str:
    """A name for this delivery run, unique across hosts and processes (``claimed_by``)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failure, capped at 6 hours."""
    return timedelta(minutes=min(2 ** (max(attempts, 1) - 1), 360))


def due(now: datetime):
    """Waiting to be sent at ``now``: pending and its time has come, or a claim gone stale."""
    stale = now - STALE_CLAIM
    return (
        (OutboxMessage.status == MailStatus.PENDING) & (OutboxMessage.next_attempt_at <= now)
    ) | ((OutboxMessage.status == MailStatus.SENDING) & (OutboxMessage.claimed_at < stale))


def status_counts() -> dict[str, int]:
    """How many messages are pending (never tried), retrying (pending after a failure),
    being sent, sent and failed: one query."""
    pending = OutboxMessage.status == MailStatus.PENDING
    row = db.session.execute(
        select(
            func.count().filter(pending, OutboxMessage.attempts == 0),
            func.count().filter(pending, OutboxMessage.attempts > 0),
            func.count().filter(OutboxMessage.status == MailStatus.SENDING),
            func.count().filter(OutboxMessage.status == MailStatus.SENT),
            func.count().filter(OutboxMessage.status == MailStatus.FAILED),
        )
    ).one()
    return dict(zip(("pending", "retrying", "sending", "sent", "failed"), row, strict=True))


def due_count(now: datetime) -> int:
    """How many messages are waiting to be delivered now."""
    return db.session.scalar(select(func.count()).where(due(now)))


def claim_batch(now: datetime, limit: int, worker: str, conn=None) -> list[int]:
    """Take up to ``limit`` due messages for ``worker``; return their ids.

    On ``conn`` if given, else on the session; uncommitted: the claim holds for others once
    the caller commits it, which it must do before sending anything.
    """
    candidates = (
        select(OutboxMessage.id)
        .where(due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    # MATERIALIZED: evaluated exactly once. As a plain subquery the planner may re-run it per
    # row, and with SKIP LOCKED each run picks other rows: more than ``limit`` get claimed.
    claim = candidates.cte("claim").prefix_with("MATERIALIZED")
    stmt = (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(select(claim.c.id)), due(now))
        .values(status=MailStatus.SENDING, claimed_at=now, claimed_by=worker)
        .returning(_OUTBOX.c.id)
    )
    runner = conn if conn is not None else db.session
    return sorted(runner.execute(stmt).scalars())


def claimed_rows(conn, ids: list[int]) -> list:
    """The claimed messages as plain rows (they outlive the worker's commits unreloaded)."""
    return list(conn.execute(select(_OUTBOX).where(_OUTBOX.c.id.in_(ids)).order_by(_OUTBOX.c.id)))


_STILL_MINE = (
    (_OUTBOX.c.id == bindparam("msg_id"))
    & (_OUTBOX.c.claimed_by == bindparam("worker"))
    & (_OUTBOX.c.status == MailStatus.SENDING)
)
# The result of almost every delivery, built once: a worker runs it thousands of times a batch.
_MARK_SENT = (
    update(_OUTBOX)
    .where(_STILL_MINE)
    .values(
        claimed_by="",
        status=MailStatus.SENT,
        attempts=bindparam("new_attempts"),
        sent_at=bindparam("at"),
        last_error="",
    )
)


def settle(msg_id: int, worker: str, conn=None, **values) -> bool:
    """Write a delivery result, only if the row is still ``worker``'s claim (uncommitted)."""
    runner = conn if conn is not None else db.session
    result = runner.execute(
        update(_OUTBOX).where(_STILL_MINE).values(claimed_by="", **values),
        {"msg_id": msg_id, "worker": worker},
    )
    return result.rowcount == 1


def release(rows, worker: str, conn) -> None:
    """Hand claimed rows back untried: pending again, for this or another worker."""
    for row in rows:
        settle(row.id, worker, conn, status=MailStatus.PENDING)


def deliver_one(transport, row, sender, worker, now, conn, summary) -> bool:
    """Send one claimed row and record the result (uncommitted); False if there is no
    connection at all, so the caller hands the rest of its batch back."""
    attempts = row.attempts + 1
    try:
        transport.send(build_message(row, sender), row.recipient)
    except (TemporaryFailure, PermanentFailure, ValueError) as exc:
        error = str(exc)[:2000] or type(exc).__name__
        temporary = isinstance(exc, TemporaryFailure)
        if temporary and attempts < MAX_ATTEMPTS:
            settle(
                row.id,
                worker,
                conn,
                status=MailStatus.PENDING,
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                last_error=error,
            )
            summary.retrying += 1
        else:
            if temporary:
                error = f"gave up after {attempts} attempts: {error}"
            settle(
                row.id, worker, conn, status=MailStatus.FAILED, attempts=attempts, last_error=error
            )
            summary.failed += 1
        summary.errors.append(f"{row.recipient}: {error}")
        return not isinstance(exc, ConnectionFailure)
    conn.execute(
        _MARK_SENT, {"msg_id": row.id, "worker": worker, "new_attempts": attempts, "at": now}
    )
    summary.sent += 1
    return True
