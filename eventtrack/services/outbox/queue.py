"""Queueing mail: what a message may hold, checked once, and the one INSERT that queues it.

Every mail a change causes goes through ``queue_mail`` (render the templates, then ``enqueue``),
in the caller's transaction: a rolled-back change queues nothing.
"""

import re
import secrets
from datetime import datetime
from email.utils import parseaddr

from flask import current_app, render_template

from ...database import insert_ignoring
from ...extensions import db
from ...models import OutboxMessage
from ...models.vocabularies import MailStatus
from ..errors import Invalid

# Headers a caller may not set: the outbox owns addressing and identity.
RESERVED_HEADERS = frozenset(
    {
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
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,75}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CONTENT_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")
_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


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
    return " ".join(CONTROL.sub(" ", value or "").split())[:limit]


def check_recipient(address: str) -> str:
    """Return ``address`` if it is exactly one plain mailbox, else raise ``Invalid``."""
    name, parsed = parseaddr(address or "")
    if (
        not parsed
        or name
        or parsed != address
        or parsed.count("@") != 1
        or CONTROL.search(parsed)
        or any(c in parsed for c in " ,;<>\"'")
    ):
        raise Invalid(f"{address!r} is not a single email address.", field="recipient")
    return parsed


def header_allowed(name: str) -> bool:
    """A caller may set header ``name``: a plain token, and not one the outbox owns."""
    return bool(_HEADER_NAME.match(name)) and name.lower() not in RESERVED_HEADERS


def safe_filename(name: str) -> str:
    """An attachment's file name as sent: one short line of letters, digits and ``._ -``."""
    return _FILENAME.sub("_", one_line(name, 100)).strip() or "attachment"


def _check_headers(headers: dict | None) -> dict:
    clean = {}
    for name, value in (headers or {}).items():
        if not header_allowed(name):
            raise Invalid(f"Header {name!r} cannot be set here.", field="headers")
        clean[name] = one_line(str(value), 900)
    return clean


def _check_attachments(attachments: list | None) -> list:
    clean = []
    for att in attachments or []:
        content_type = str(att["content_type"]).lower()
        if not _CONTENT_TYPE.match(content_type):
            raise Invalid(f"Bad attachment type {content_type!r}.", field="attachments")
        clean.append(
            {
                "filename": safe_filename(att["filename"]),
                "content_type": content_type,
                "content": att["content"],
            }
        )
    return clean


def unsubscribe_headers(user) -> dict:
    """RFC 2369 + RFC 8058 one-click unsubscribe headers for ``user`` (no sign-in needed)."""
    from ...links import external_url
    from ..accounts import unsubscribe_token

    url = external_url("attendee.unsubscribe", token=unsubscribe_token(user))
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _message_domain() -> str:
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    return sender.rpartition("@")[2] or "eventtrack.invalid"


def _row(
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
    domain: str,
) -> dict:
    return dict(
        kind=kind,
        dedup_key=dedup_key,
        recipient=check_recipient(recipient),
        recipient_name=one_line(recipient_name, 120),
        user_id=user_id,
        meeting_id=meeting_id,
        message_id=f"<{secrets.token_hex(16)}@{domain}>",
        subject=one_line(subject, 300),
        body_text=body_text,
        body_html=body_html,
        headers=_check_headers(headers),
        attachments=_check_attachments(attachments),
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        claimed_by="",
        last_error="",
    )


def enqueue(*, now: datetime, **message) -> bool:
    """Queue one message in the current transaction; return False if ``dedup_key`` was queued."""
    table = OutboxMessage.__table__
    values = _row(now=now, domain=_message_domain(), **message)
    stmt = insert_ignoring(table, "dedup_key").values(**values).returning(table.c.id)
    return db.session.execute(stmt).first() is not None


def enqueue_many(messages: list[dict], now: datetime) -> None:
    """Queue many messages in one executemany (each dict: ``enqueue``'s keywords)."""
    if not messages:
        return
    domain = _message_domain()
    rows = [_row(now=now, domain=domain, **m) for m in messages]
    db.session.execute(insert_ignoring(OutboxMessage.__table__, "dedup_key"), rows)


def queue_many(template: str, items: list[tuple[dict, dict]], now: datetime) -> None:
    """``queue_mail`` for many: each item (context, message keywords)."""
    msgs = []
    for context, message in items:
        text, html = render_mail(template, **context)
        msgs.append(dict(body_text=text, body_html=html, **message))
    enqueue_many(msgs, now)


def queue_to_member(template: str, user, meeting, context: dict, **message) -> bool:
    """Queue ``template`` (also the mail's kind) to the member ``user`` about ``meeting``, with
    the one-click unsubscribe that mail a member did not ask for must carry (follow-ups,
    reminders, announcements, messages)."""
    headers = unsubscribe_headers(user)
    return queue_mail(
        template,
        context={**context, "user": user, "unsubscribe_url": headers["List-Unsubscribe"][1:-1]},
        kind=template,
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        meeting_id=meeting.id,
        headers=headers,
        **message,
    )
