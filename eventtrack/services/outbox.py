"""The outbox: enqueue mail in the caller's transaction; deliver it later, exactly once.

Enqueueing is ``INSERT … ON CONFLICT (dedup_key) DO NOTHING``, so a repeated cause queues nothing
new. Everything that makes a message what it is (Message-ID, headers, bodies, attachments) is
fixed at enqueue, so a retried delivery is the same message.

Delivery claims small batches with one ``UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP
LOCKED]) AND <still due> RETURNING id``: on PostgreSQL concurrent workers skip each other's rows,
on SQLite the write lock serialises the statement and the repeated "still due" condition makes a
row taken meanwhile not match. Each result is written with a conditional UPDATE that only
succeeds while the row is still this worker's claim. Temporary failures (4xx, connection
problems) retry with exponential backoff; permanent ones (5xx) are kept as ``failed`` with the
reason, which organisers see on the meeting page.

The one window SMTP itself leaves open: a worker killed after the server accepted a message but
before the row is marked sent. Its claim goes stale after ``STALE_CLAIM`` and the message is
sent again with the same Message-ID, which receiving systems use to drop duplicates.
"""

import base64
import contextlib
import os
import re
import secrets
import smtplib
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import bindparam, func, select, update

from ..database import insert_ignoring
from ..extensions import db
from ..models import OutboxMessage
from .errors import Invalid

MAX_ATTEMPTS = 8
# A worker that died mid-send leaves rows in 'sending'; after this long they are retried.
# Batches are small (BATCH_SIZE messages × the SMTP timeout stays far below this), so a
# live worker's claim never goes stale while it still holds unsent rows.
STALE_CLAIM = timedelta(minutes=10)
BATCH_SIZE = 25

# Headers a caller may not set: the outbox owns addressing and identity.
_RESERVED_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "message-id",
    "date",
    "sender",
    "reply-to",
    "return-path",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,75}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CONTENT_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")
_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


class PermanentFailure(Exception):
    """The server refused this message for good (5xx): retrying cannot help."""


class TemporaryFailure(Exception):
    """The server or the network failed for now (4xx, connection refused): retry later."""


class ConnectionFailure(TemporaryFailure):
    """No connection at all: the rest of the batch is released untried."""


def render_mail(template: str, **context) -> tuple[str, str]:
    """Render ``templates/email/<template>.txt`` and ``.html`` (HTML autoescaped)."""
    return (
        render_template(f"email/{template}.txt", **context),
        render_template(f"email/{template}.html", **context),
    )


def queue_mail(template: str, *, context: dict, **message) -> bool:
    """Render ``templates/email/<template>.*`` with ``context`` and queue it (``enqueue``'s
    keyword arguments in ``message``): the one recipe for a mail caused by a change."""
    text, html = render_mail(template, **context)
    return enqueue(body_text=text, body_html=html, **message)


def one_line(value: str, limit: int) -> str:
    """Collapse CR, LF and other control characters to spaces: a header stays one header."""
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


def check_recipient(address: str) -> str:
    """Return ``address`` if it is exactly one plain mailbox, else raise ``Invalid``."""
    name, parsed = parseaddr(address or "")
    if (
        not parsed
        or name
        or parsed != address
        or parsed.count("@") != 1
        or _CONTROL.search(parsed)
        or any(c in parsed for c in " ,;<>\"'")
    ):
        raise Invalid(f"{address!r} is not a single email address.", field="recipient")
    return parsed


def _check_headers(headers: dict | None) -> dict:
    clean = {}
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED_HEADERS:
            raise Invalid(f"Header {name!r} cannot be set here.", field="headers")
        clean[name] = one_line(str(value), 900)
    return clean


def _check_attachments(attachments: list | None) -> list:
    clean = []
    for att in attachments or []:
        content_type = str(att["content_type"]).lower()
        if not _CONTENT_TYPE.match(content_type):
            raise Invalid(f"Bad attachment type {content_type!r}.", field="attachments")
        filename = _FILENAME.sub("_", one_line(att["filename"], 100)).strip() or "attachment"
        clean.append(
            {"filename": filename, "content_type": content_type, "content": att["content"]}
        )
    return clean


def unsubscribe_headers(user) -> dict:
    """RFC 2369 + RFC 8058 one-click unsubscribe headers for ``user`` (no sign-in needed)."""
    from ..links import external_url
    from .accounts import unsubscribe_token

    url = external_url("attendee.unsubscribe", token=unsubscribe_token(user))
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _message_domain() -> str:
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    return sender.rpartition("@")[2] or "eventtrack.invalid"


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
    """Queue one message in the current transaction; return False if ``dedup_key`` was queued.

    Names and subjects are flattened to one line (a ``\\r\\nBcc:`` in a name stays text);
    the recipient must be one plain address.
    """
    values = dict(
        kind=kind,
        dedup_key=dedup_key,
        recipient=check_recipient(recipient),
        recipient_name=one_line(recipient_name, 120),
        user_id=user_id,
        meeting_id=meeting_id,
        # 128 random bits: unique without a clock or a pid, and short enough never to fold.
        message_id=f"<{secrets.token_hex(16)}@{_message_domain()}>",
        subject=one_line(subject, 300),
        body_text=body_text,
        body_html=body_html,
        headers=_check_headers(headers),
        attachments=_check_attachments(attachments),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        claimed_by="",
        last_error="",
    )
    # On the Core table, not the ORM entity: the same SQL, a fraction of the overhead.
    table = OutboxMessage.__table__
    stmt = insert_ignoring(table, "dedup_key").values(**values).returning(table.c.id)
    return db.session.execute(stmt).first() is not None


CRLF = b"\r\n"


def _header(name: str, value: str) -> bytes:
    """One header line; non-ASCII as RFC 2047 encoded words. Control characters are refused:
    values were flattened to one line at enqueue, so one here is a bug, never sent."""
    if _CONTROL.search(value):
        raise ValueError(f"header {name} with a control character")
    if not value.isascii():
        value = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {value}".encode() + CRLF


def _part(content_type: str, content: str, disposition: str = "") -> bytes:
    # Base64 keeps every line at 76 octets whatever the text holds (long notes, any script).
    head = f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n'
    body = base64.encodebytes(content.encode()).replace(b"\n", CRLF)
    return head.encode() + disposition.encode() + CRLF + body


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    # "=_" never occurs in base64, so the boundary cannot collide with any part.
    boundary = ("=_et_" + secrets.token_hex(12)).encode()
    out = [f'Content-Type: multipart/{subtype}; boundary="'.encode() + boundary + b'"' + CRLF]
    out.append(CRLF)
    for part in parts:
        out += [b"--", boundary, CRLF, part, CRLF]
    out += [b"--", boundary, b"--", CRLF]
    return b"".join(out)


def build_message(row, sender: str) -> bytes:
    """The message as sent: headers, then text + HTML alternative, then attachments.

    Written directly rather than through ``email.generator``: the structure is always the
    same, and a worker sending thousands in a row spends its time on SMTP, not on MIME.
    The tests read every message back with the standard library's parser.
    """
    body = _part("text/plain", row.body_text)
    if row.body_html:
        body = _multipart("alternative", [body, _part("text/html", row.body_html)])
    if row.attachments:
        parts = [body]
        for att in row.attachments:
            filename = _FILENAME.sub("_", att["filename"]) or "attachment"
            parts.append(
                _part(
                    att["content_type"],
                    att["content"],
                    f'Content-Disposition: attachment; filename="{filename}"\r\n',
                )
            )
        body = _multipart("mixed", parts)
    recipient = check_recipient(row.recipient)
    to = formataddr((row.recipient_name, recipient)) if row.recipient_name else recipient
    headers = [
        _header("From", sender),
        _header("To", to),
        _header("Subject", row.subject),
        _header("Message-ID", row.message_id),
        _header("Date", format_datetime(row.created_at)),
        _header("Auto-Submitted", "auto-generated"),
    ]
    for name, value in (row.headers or {}).items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} not allowed")
        headers.append(_header(name, value))
    headers.append(b"MIME-Version: 1.0" + CRLF)
    return b"".join(headers) + body


def message_id_of(data: bytes) -> str:
    """The Message-ID header of a built message (for file names and logs)."""
    match = re.search(rb"^Message-ID: (<[^>\r\n]+>)\r$", data, re.MULTILINE | re.IGNORECASE)
    return match.group(1).decode() if match else ""


class FileTransport:
    """Writes each message as an .eml file, for machines with no mail server configured."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def __enter__(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False

    def send(self, data: bytes, recipient: str) -> None:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", message_id_of(data).strip("<>")) or "message"
        path = self.directory / f"{stem}.eml"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a message
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {path}: {exc}") from exc


class SmtpTransport:
    """One SMTP connection per batch; failures classified as temporary or permanent."""

    def __init__(
        self, host, port=25, username="", password="", use_tls=False, timeout=15, sender=""
    ):
        self.host, self.port, self.timeout = host, int(port), timeout
        # The envelope sender (bounces); MAIL_FROM's address unless given.
        self.envelope_from = parseaddr(sender)[1] if sender else ""
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
            except smtplib.SMTPAuthenticationError as exc:
                raise ConnectionFailure(f"SMTP login refused: {exc.smtp_code}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise ConnectionFailure(
                    f"cannot connect to {self.host}:{self.port}: {exc}"
                ) from exc
            self.smtp = smtp
        return self.smtp

    def send(self, data: bytes, recipient: str) -> None:
        smtp = self._connect()
        try:
            # The envelope names the one recipient: no header can add another.
            options = [] if recipient.isascii() else ["SMTPUTF8"]
            smtp.sendmail(self.envelope_from, [recipient], data, options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise (TemporaryFailure if 400 <= code < 500 else PermanentFailure)(
                f"{code} {_text(text)}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code < 500:
                # 421 and friends: the server is going away; start afresh next time.
                self._drop()
                raise TemporaryFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
            raise PermanentFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryFailure(str(exc) or type(exc).__name__) from exc
        except (smtplib.SMTPException, UnicodeError) as exc:
            raise PermanentFailure(str(exc) or type(exc).__name__) from exc

    def _drop(self):
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
            self.smtp = None


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def transport_from_config(config) -> FileTransport | SmtpTransport:
    if config.get("MAIL_SERVER"):
        return SmtpTransport(
            config["MAIL_SERVER"],
            config.get("MAIL_PORT", 25),
            config.get("MAIL_USERNAME", ""),
            config.get("MAIL_PASSWORD", ""),
            str(config.get("MAIL_USE_TLS", "")).lower() in ("1", "true", "yes"),
            sender=config.get("MAIL_FROM", ""),
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
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failure, capped at 6 hours."""
    return timedelta(minutes=min(2 ** (max(attempts, 1) - 1), 360))


def _due(now: datetime):
    stale = now - STALE_CLAIM
    return ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)) | (
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale)
    )


def claim_batch(now: datetime, limit: int, worker: str, conn=None) -> list[int]:
    """Atomically take up to ``limit`` due messages for this worker; return their ids.

    Runs in its own transaction, on ``conn`` if given, else on the session.
    """
    candidates = (
        select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    # MATERIALIZED: evaluated exactly once. As a plain subquery the planner may re-run it per
    # row, and with SKIP LOCKED each run picks other rows: more than ``limit`` get claimed.
    claim = candidates.cte("claim").prefix_with("MATERIALIZED")
    table = OutboxMessage.__table__
    stmt = (
        update(table)
        .where(table.c.id.in_(select(claim.c.id)), _due(now))
        .values(status="sending", claimed_at=now, claimed_by=worker)
        .returning(table.c.id)
    )
    runner = conn if conn is not None else db.session
    ids = sorted(runner.execute(stmt).scalars())
    runner.commit()
    return ids


_OUTBOX = OutboxMessage.__table__
_STILL_MINE = (
    (_OUTBOX.c.id == bindparam("msg_id"))
    & (_OUTBOX.c.claimed_by == bindparam("worker"))
    & (_OUTBOX.c.status == "sending")
)
# The result of almost every delivery, built once: a worker runs it thousands of times a batch.
_MARK_SENT = (
    update(_OUTBOX)
    .where(_STILL_MINE)
    .values(
        claimed_by="",
        status="sent",
        attempts=bindparam("new_attempts"),
        sent_at=bindparam("at"),
        last_error="",
    )
)


def _settle(msg_id: int, worker: str, conn=None, **values) -> bool:
    """Write a delivery result, only if the row is still this worker's claim."""
    runner = conn if conn is not None else db.session
    result = runner.execute(
        update(_OUTBOX).where(_STILL_MINE).values(claimed_by="", **values),
        {"msg_id": msg_id, "worker": worker},
    )
    runner.commit()
    return result.rowcount == 1


def _mark_sent(msg_id: int, worker: str, attempts: int, now: datetime, conn) -> None:
    conn.execute(
        _MARK_SENT, {"msg_id": msg_id, "worker": worker, "new_attempts": attempts, "at": now}
    )
    conn.commit()


def _claimed_rows(conn, ids: list[int]):
    # Plain rows, not ORM objects: they survive the per-message commits without reloading.
    table = OutboxMessage.__table__
    return list(conn.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id)))


def deliver_pending(
    transport,
    now: datetime,
    limit: int = 100,
    progress=None,
    worker: str | None = None,
    batch_size: int = BATCH_SIZE,
    stop=None,
) -> DeliverySummary:
    """Deliver up to ``limit`` due messages through ``transport``; commit after each one."""
    worker = worker or f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
    summary = DeliverySummary()
    sender = current_app.config["MAIL_FROM"]
    # One connection of its own for the whole run: each claim and each result is a short
    # transaction on it, without the session's per-commit connection check-out and ping.
    db.session.commit()
    with db.engine.connect() as conn, transport:
        while summary.handled < limit:
            ids = claim_batch(now, min(batch_size, limit - summary.handled), worker, conn)
            if not ids:
                break
            rows = _claimed_rows(conn, ids)
            conn.commit()
            for index, row in enumerate(rows):
                if stop is not None and stop.is_set():
                    # Asked to stop (SIGTERM): the message in flight was finished; the rest
                    # go back untried for the next worker.
                    for rest in rows[index:]:
                        _settle(rest.id, worker, conn, status="pending")
                    return summary
                if not _deliver_one(transport, row, sender, worker, now, conn, summary):
                    # No server: hand the untried rest back unchanged and stop this run.
                    for rest in rows[index + 1 :]:
                        _settle(rest.id, worker, conn, status="pending")
                    return summary
                if progress is not None:
                    progress(1)
    return summary


def _deliver_one(transport, row, sender, worker, now, conn, summary) -> bool:
    """Send one claimed row and record the result; False if there is no connection at all."""
    attempts = row.attempts + 1
    try:
        transport.send(build_message(row, sender), row.recipient)
    except (TemporaryFailure, PermanentFailure, ValueError) as exc:
        error = str(exc)[:2000] or type(exc).__name__
        temporary = isinstance(exc, TemporaryFailure)
        if temporary and attempts < MAX_ATTEMPTS:
            _settle(
                row.id,
                worker,
                conn,
                status="pending",
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                last_error=error,
            )
            summary.retrying += 1
        else:
            if temporary:
                error = f"gave up after {attempts} attempts: {error}"
            _settle(row.id, worker, conn, status="failed", attempts=attempts, last_error=error)
            summary.failed += 1
        summary.errors.append(f"{row.recipient}: {error}")
        return not isinstance(exc, ConnectionFailure)
    _mark_sent(row.id, worker, attempts, now, conn)
    summary.sent += 1
    return True


def due_count(now: datetime) -> int:
    """How many messages are waiting to be delivered now."""
    return db.session.scalar(select(func.count()).where(_due(now)))
