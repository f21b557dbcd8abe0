"""Sign-in sessions kept on the server.

A browser's session and remember cookies carry ``<id>.<secret>``; the database keeps only a
SHA-256 of the secret. Signing out ends the row, so a copy of the cookie taken before is dead
too; a session also ends by itself after ``REMEMBER_COOKIE_DURATION`` (at most 30 days).
"""

import hmac
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import AuthSession, User
from .accounts import hash_token


def start(user: User, now: datetime) -> str:
    """Open a session for ``user`` and return its key; ``user.get_id()`` answers it from now."""
    secret = secrets.token_urlsafe(32)
    row = AuthSession(
        user_id=user.id,
        key_hash=hash_token(secret),
        created_at=now,
        expires_at=now + current_app.config["REMEMBER_COOKIE_DURATION"],
    )
    db.session.add(row)
    db.session.flush()
    user.session_key = f"{row.id}.{secret}"
    return user.session_key


def _parse(key: str | None) -> tuple[int, str] | None:
    session_id, _, secret = (key or "").partition(".")
    if not session_id.isdigit() or len(session_id) > 18 or not secret:
        return None
    return int(session_id), secret


_USER_FOR_SESSION = (
    select(User, AuthSession.key_hash)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(AuthSession.ended_at.is_(None))
)


def user_for_key(key: str | None, now: datetime) -> User | None:
    """The user whose open session ``key`` names, or None (unknown, ended, expired, forged)."""
    parsed = _parse(key)
    if parsed is None:
        return None
    session_id, secret = parsed
    row = db.session.execute(
        _USER_FOR_SESSION.where(AuthSession.id == session_id, AuthSession.expires_at > now)
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, hash_token(secret)):
        return None
    user = row.User
    user.session_key = key
    return user


def end(key: str | None, now: datetime) -> None:
    """End the session ``key`` names (sign-out): its cookies, and every copy, stop working."""
    parsed = _parse(key)
    if parsed is None:
        return
    session_id, secret = parsed
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.key_hash == hash_token(secret))
        .values(ended_at=now)
    )


def end_all(user: User, now: datetime) -> None:
    """End every session of ``user`` (e.g. when the account's password is set)."""
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
        .values(ended_at=now)
    )
