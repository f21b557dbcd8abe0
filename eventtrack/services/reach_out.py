"""Reaching out to members drifting away from a group (``insights``: came 3 or more times, then
missed the last 3): one message from the organisers, inviting them to the group's next meeting.

Through the outbox like every message to members (``outbox.queue_to_member``: the "message"
mail with its one-click unsubscribe), only to current members who keep emails on. The
recipients are worked out here when the message is sent, never taken from the form.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Group, Meeting, Membership, User
from ..models.vocabularies import MeetingStatus
from . import insights, meetings, messages
from .errors import Invalid


@dataclass
class Drifting:
    next_meeting: Meeting | None  # the message invites to it; none planned: nothing to send
    people: list[insights.Drifter]


def drifting(group: Group, now: datetime) -> Drifting:
    """Who is drifting away from ``group`` now, and the next meeting to invite them to."""
    planned = [m for m in meetings.upcoming(group, now) if m.status == MeetingStatus.SCHEDULED]
    nxt = next((m for m in planned if m.starts_at > now), None)
    return Drifting(nxt, insights.group_report(group, now).drifting)


def message_drifting(group: Group, subject: str, body: str, now: datetime) -> int:
    """Queue the organisers' ``subject`` and ``body`` to every member drifting away from
    ``group``, about its next meeting; return how many. The same message is queued once per
    person (the dedup key holds its hash): a double click mails nobody twice."""
    subject, body = messages.clean_message(subject, body)
    found = drifting(group, now)
    if found.next_meeting is None:
        raise Invalid("Plan the next meeting first: the message invites them to it.")
    recipients = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.group_id == group.id,
            User.id.in_([d.user_id for d in found.people]),
            User.followup_emails.is_(True),
        )
        .order_by(User.id)
    )
    key = f"drifting:{group.id}:{messages.message_key(subject, body)}"
    return messages.queue_message(found.next_meeting, recipients, subject, body, key, now)
