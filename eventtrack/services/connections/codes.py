"""Connect codes: the QR an attendee shows so that someone can record that they met. A code is
separate from the pass (it checks nobody in and signs nobody in) and appears after check-in."""

import re
import secrets
from datetime import datetime

from sqlalchemy import select

from ...database import insert_ignoring
from ...extensions import db
from ...links import external_url
from ...models import Registration
from ...models.connect import ConnectCode
from ..errors import Invalid
from .errors import CannotConnect, UnknownCode
from .presence import here

# new_connect_token(): 18 random bytes → 24 URL-safe characters.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{24}")


def new_connect_token() -> str:
    """144 random bits, URL-safe: unguessable, and unrelated to the pass token."""
    return secrets.token_urlsafe(18)


def code_for(reg: Registration, now: datetime) -> ConnectCode:
    """Return ``reg``'s connect code, creating it on first use; ``CannotConnect`` unless its
    holder is here (checked in, still going)."""
    code = db.session.scalar(
        select(ConnectCode)
        .join(Registration, Registration.id == ConnectCode.registration_id)
        .where(ConnectCode.registration_id == reg.id, here())
    )
    if code is not None:
        return code
    if db.session.scalar(select(Registration.id).where(Registration.id == reg.id, here())) is None:
        raise CannotConnect(
            "not_checked_in", "Your connect code appears once you are checked in at the door."
        )
    # Two tabs opening the event page at once: the unique key keeps exactly one code.
    db.session.execute(
        insert_ignoring(ConnectCode.__table__, "registration_id").values(
            registration_id=reg.id, token=new_connect_token(), created_at=now
        )
    )
    return db.session.scalar(select(ConnectCode).where(ConnectCode.registration_id == reg.id))


def connect_url(token: str) -> str:
    """The URL a connect code's QR holds: opening it shows that person's card."""
    return external_url("connect.card", token=token)


def resolve_code(token: str) -> Registration:
    """The registration behind a scanned connect code; ``DomainError`` if it is not one."""
    if not token or not TOKEN_RE.fullmatch(token):
        raise Invalid(
            "That is not an eventtrack connect code. Ask them to open their event page and "
            "show the code again.",
            code="malformed_code",
        )
    reg = db.session.scalar(
        select(Registration)
        .join(ConnectCode, ConnectCode.registration_id == Registration.id)
        .where(ConnectCode.token == token)
    )
    if reg is None:
        raise UnknownCode(
            "unknown_code",
            "We don't know this connect code. Ask them to open their event page and show "
            "the code again.",
        )
    return reg
