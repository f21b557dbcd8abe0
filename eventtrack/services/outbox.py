"""The outbox: enqueue mail in the caller's transaction; deliver it later, exactly once.

Enqueueing is ``INSERT … ON CONFLICT (dedup_key) DO NOTHING``, so a repeated cause queues nothing
new. Delivery claims rows with a conditional UPDATE (``status='pending'`` → ``'sending'``), plus
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never send one message twice.
"""

import contextlib
import secrets
import smtplib
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import OutboxMessage

MAX_ATTEMPTS = 8
# A worker that died mid-send leaves rows in 'sending'; after this long they are retried.
STALE_CLAIM = timedelta(minutes=10)


class PermanentFailure(Exception):
    """The server refused this message for good (5xx): retrying cannot help."""


class TemporaryFailure(Exception):
    """The server or the network failed for now (4xx, connection refused): retry later."""


def render_mail(template: str, **context) -> tuple[str, str]:
    """Render ``templates/email/<template>.txt`` and ``.html`` (HTML autoescaped)."""
    return (
        render_template(f"email/{template}.txt", **context),
        render_template(f"email/{template}.html", **context),
    )


def enqueue(
    *,
    kind: str,
    dedup_key: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    recipient_name: str = "",
    user_id: int | None = None,
    meeting_id: int | None = None,
    headers: dict | None = None,
    attachments: list | None = None,
    now: datetime,
) -> bool:
    """Queue one message in the current transaction; return False if ``dedup_key`` was queued."""
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2].strip("> ") or "eventtrack"
    values = dict(
        kind=kind,
        dedup_key=dedup_key,
        recipient=recipient,
        recipient_name=recipient_name,
        user_id=user_id,
        meeting_id=meeting_id,
        message_id=make_msgid(idstring=secrets.token_hex(8), domain=domain),
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        headers=headers or {},
        attachments=attachments or [],
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        claimed_by="",
        last_error="",
    )
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
    )
    return db.session.execute(stmt).rowcount == 1


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    """Build the MIME message; header values with CR/LF are refused by the email policy."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = (
        formataddr((row.recipient_name, row.recipient)) if row.recipient_name else (row.recipient)
    )
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    for name, value in (row.headers or {}).items():
        msg[name] = value
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    for att in row.attachments or []:
        maintype, _, subtype = att["content_type"].partition("/")
        msg.add_attachment(
            att["content"].encode(), maintype=maintype, subtype=subtype, filename=att["filename"]
        )
    return msg


class FileTransport:
    """Writes each message as an .eml file, for machines with no mail server configured."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def __enter__(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False

    def send(self, msg: EmailMessage, recipient: str) -> None:
        stem = msg["Message-ID"].strip("<>").replace("@", "_at_").replace("/", "_")
        (self.directory / f"{stem}.eml").write_bytes(msg.as_bytes())


class SmtpTransport:
    """One SMTP connection per batch; failures classified as temporary or permanent."""

    def __init__(self, host, port=25, username="", password="", use_tls=False, timeout=15):
        self.host, self.port, self.timeout = host, int(port), timeout
        self.username, self.password, self.use_tls = username, password, use_tls
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None
        return False

    def _connect(self) -> smtplib.SMTP:
        if self.smtp is None:
            try:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
            except (OSError, smtplib.SMTPException) as exc:
                raise TemporaryFailure(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
            self.smtp = smtp
        return self.smtp

    def send(self, msg: EmailMessage, recipient: str) -> None:
        smtp = self._connect()
        try:
            smtp.send_message(msg, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise (TemporaryFailure if 400 <= code < 500 else PermanentFailure)(
                f"{code} {text!r}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421 or exc.smtp_code < 500:
                self._drop()
                raise TemporaryFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryFailure(str(exc) or type(exc).__name__) from exc

    def _drop(self):
        if self.smtp is not None:
            try:
                self.smtp.close()
            finally:
                self.smtp = None


def transport_from_config(config) -> FileTransport | SmtpTransport:
    if config.get("MAIL_SERVER"):
        return SmtpTransport(
            config["MAIL_SERVER"],
            config.get("MAIL_PORT", 25),
            config.get("MAIL_USERNAME", ""),
            config.get("MAIL_PASSWORD", ""),
            str(config.get("MAIL_USE_TLS", "")).lower() in ("1", "true", "yes"),
        )
    return FileTransport(config["MAIL_OUTBOX_DIR"])


@dataclass
class DeliverySummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, capped at 6 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def claim_batch(now: datetime, limit: int, worker: str) -> list[int]:
    """Atomically take up to ``limit`` due messages for this worker; return their ids."""
    stale = now - STALE_CLAIM
    due = ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)) | (
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale)
    )
    candidates = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(candidates))
    if not ids:
        db.session.commit()
        return []
    # The conditional UPDATE is the real claim: a row another worker took meanwhile stays theirs.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), due)
        .values(status="sending", claimed_at=now, claimed_by=worker)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.claimed_by == worker,
                OutboxMessage.claimed_at == now,
                OutboxMessage.status == "sending",
            )
        )
    )


def deliver_pending(transport, now: datetime, limit: int = 100, progress=None) -> DeliverySummary:
    """Deliver up to ``limit`` due messages through ``transport``; commit after each one."""
    worker = f"{socket.gethostname()}:{secrets.token_hex(4)}"
    summary = DeliverySummary()
    sender = current_app.config["MAIL_FROM"]
    ids = claim_batch(now, limit, worker)
    with transport:
        for msg_id in ids:
            row = db.session.get(OutboxMessage, msg_id)
            row.attempts += 1
            try:
                transport.send(build_message(row, sender), row.recipient)
            except (TemporaryFailure, PermanentFailure, ValueError) as exc:
                permanent = not isinstance(exc, TemporaryFailure) or row.attempts >= MAX_ATTEMPTS
                row.last_error = str(exc)[:2000]
                row.claimed_by = ""
                if permanent:
                    row.status = "failed"
                    summary.failed += 1
                else:
                    row.status = "pending"
                    row.next_attempt_at = now + backoff(row.attempts)
                    summary.retrying += 1
                summary.errors.append(f"{row.recipient}: {row.last_error}")
            else:
                row.status = "sent"
                row.sent_at = now
                row.last_error = ""
                summary.sent += 1
            db.session.commit()
            if progress is not None:
                progress(1)
    return summary


def due_count(now: datetime) -> int:
    """How many messages are waiting to be delivered now."""
    return db.session.scalar(
        select(func.count()).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
        )
    )
