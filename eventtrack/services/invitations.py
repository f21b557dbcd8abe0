"""Inviting members to a meeting: its shareable link, and "announce" (the meeting mailed to
every member of the group with that link).

The link ``/i/<invite_token>`` carries no right of its own: whoever opens it signs in by a link
mailed to their inbox, and only a member of the meeting's group may then RSVP. A token is 144
random bits (``models.meeting.new_invite_token``), so it cannot be guessed from the meeting's id.
"""

import re
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..links import external_url
from ..models import Meeting, Membership, User
from ..models.vocabularies import MeetingStatus
from . import access, accounts, outbox
from .errors import Invalid

# What ``new_invite_token`` makes (token_urlsafe(18): 24 characters); anything else is no token.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def invite_url(meeting: Meeting) -> str:
    return external_url("invite.open", token=meeting.invite_token)


def meeting_by_invite(token: str) -> Meeting | None:
    """The meeting an invite link names, or None for an unknown or garbled token."""
    if not token or not _TOKEN.match(token):
        return None
    return db.session.scalar(select(Meeting).where(Meeting.invite_token == token))


def announce(meeting: Meeting, now: datetime) -> int:
    """Mail the meeting, with its invite link, to every member of its group who keeps emails
    on; return how many were queued now.

    Once per member and meeting (dedup key ``announce:<meeting>:<user>``): announcing again
    reaches only the members who joined since. Every mail carries one-click unsubscribe.
    """
    if meeting.status == MeetingStatus.CANCELLED:
        raise Invalid("This meeting is cancelled: there is nothing to announce.", code="cancelled")
    if meeting.ends_at <= now:
        raise Invalid("This meeting is over: there is nothing to announce.", code="meeting_over")
    url = invite_url(meeting)
    recipients = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == meeting.group_id, User.followup_emails.is_(True))
        .order_by(User.id)
    )
    queued = 0
    for user in recipients:
        queued += outbox.queue_to_member(
            "announce",
            user,
            meeting,
            {"meeting": meeting, "invite_url": url},
            dedup_key=f"announce:{meeting.id}:{user.id}",
            subject=f"{meeting.group.name}: {meeting.title}",
            now=now,
        )
    return queued


def request_sign_in(meeting: Meeting, email: str, now: datetime, next_url: str) -> bool:
    """Mail a sign-in link leading back to the invitation, if ``email`` belongs to a member of
    the meeting's group; True if one was queued.

    The caller answers the same either way: the link tells nobody who is in the group.
    """
    user = accounts.user_by_email(email)
    if user is None or access.member_of(user, meeting.group_id) is None:
        return False
    return accounts.request_login_link(user.email, now, next_url)
