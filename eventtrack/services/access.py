"""Who may touch what: every organiser-side lookup, and what a pass link allows, go through here.

Another organiser's objects are reported as missing (``NotFound``), never as forbidden, so ids
cannot be probed.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import Group, Meeting, Membership, Registration, User
from . import rules
from .errors import NotFound


def is_organiser(user: User | None, group_id: int) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(db.session.scalar(select(rules.organiser_of(user.id, group_id))))


def organised_groups(user: User) -> list[Group]:
    return list(
        db.session.scalars(
            select(Group)
            .join(Membership)
            .where(Membership.user_id == user.id, rules.organiser_membership())
            .order_by(Group.name)
        )
    )


def organised_group(user: User, group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not is_organiser(user, group.id):
        raise NotFound("group")
    return group


_ORGANISED_MEETING = select(Meeting).where(
    Meeting.id == bindparam("meeting_id"),
    rules.organiser_of(bindparam("user_id"), Meeting.group_id),
)


def organised_meeting(user: User, meeting_id: int) -> Meeting:
    # One pre-built query: the door scanner and the check-in API call this on every scan.
    meeting = db.session.scalar(_ORGANISED_MEETING, {"user_id": user.id, "meeting_id": meeting_id})
    if meeting is None:
        raise NotFound("meeting")
    return meeting


def organised_registration(user: User, registration_id: int) -> Registration:
    reg = db.session.get(Registration, registration_id)
    if reg is None or not is_organiser(user, reg.meeting.group_id):
        raise NotFound("registration")
    return reg


def member_of(user: User | None, group_id: int) -> Membership | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.group_id == group_id, Membership.user_id == user.id)
    )


# --- pass links ------------------------------------------------------------------------------
# A pass link is a narrow capability for one registration, never a sign-in: its pass, QR and
# calendar file, self check-in at that meeting, connections and notes at that meeting, and
# that meeting's follow-up list. It stops working PASS_LINK_DAYS after the meeting ends.


def pass_expires_at(meeting: Meeting) -> datetime:
    return meeting.ends_at + timedelta(days=current_app.config["PASS_LINK_DAYS"])


def registration_by_pass(token: str) -> Registration | None:
    """The registration a pass link names, expired or not (the pass page says which)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Registration).where(Registration.pass_token == token))


def pass_holder_at(token: str | None, meeting_id: int, now: datetime) -> User | None:
    """The member a pass link lets act at ``meeting_id`` now, or None: the pass must be for that
    meeting and not expired."""
    reg = registration_by_pass(token or "")
    if reg is None or reg.meeting_id != meeting_id or now >= pass_expires_at(reg.meeting):
        return None
    return reg.user
