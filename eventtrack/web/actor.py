"""Who acts as a member at a meeting: the signed-in account, or else the holder of a pass link
for that meeting, opened on this browser.

A pass link never signs anyone in. Opening one keeps its token in this browser's session
cookie (``remember_pass``), and the member pages of that one meeting — connect, notes, the
follow-up list, self check-in — ask ``member_at`` who is acting; every other page needs a real
sign-in. What a pass allows, and until when, is decided in ``services.access``.
"""

from flask import abort, current_app, session
from flask_login import current_user

from ..models import Registration, User, utcnow
from ..services import access

PASSES = "passes"  # session key: {"<meeting id>": "<pass token>"}
MAX_PASSES = 20  # a cookie is small; the oldest pass opened goes first


def remember_pass(reg: Registration) -> None:
    """Let this browser act as ``reg``'s member at ``reg``'s meeting (and only there)."""
    passes = dict(session.get(PASSES) or {})
    passes.pop(str(reg.meeting_id), None)
    passes[str(reg.meeting_id)] = reg.pass_token
    session[PASSES] = dict(list(passes.items())[-MAX_PASSES:])


def forget_passes() -> None:
    session.pop(PASSES, None)


def member_at(meeting_id: int) -> User | None:
    """The member acting at ``meeting_id``: the signed-in user, or this browser's pass holder."""
    if current_user.is_authenticated:
        return current_user
    token = (session.get(PASSES) or {}).get(str(meeting_id))
    return access.pass_holder_at(token, meeting_id, utcnow()) if token else None


def require_member_at(meeting_id: int) -> User:
    """``member_at``, or abort to the sign-in page (the request ends there)."""
    member = member_at(meeting_id)
    if member is None:
        abort(current_app.login_manager.unauthorized())
    return member
