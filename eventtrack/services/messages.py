"""An organiser's message to a meeting's attendees, and the state of every mail of a meeting.

A message goes to one audience: everyone registered (going or waitlisted), those checked in,
or the no-shows (going, never checked in, once the meeting is over). Through the outbox, with
one-click unsubscribe, only to members who keep emails on.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import Meeting, OutboxMessage, Registration, User
from ..models.vocabularies import MailStatus, RegistrationStatus
from . import outbox, rules
from .errors import Invalid
from .meetings.details import REGISTERED
from .registration_views import MAIL_STATES

AUDIENCES = {
    "registered": "Everyone registered (going and waitlist)",
    "checked_in": "Those who checked in",
    "no_shows": "No-shows (had a place, did not check in)",
}
SUBJECT_MAX, BODY_MAX = 200, 5000


def audience_filter(meeting: Meeting, audience: str, now: datetime):
    """The ``Registration`` condition of ``audience``; no-shows only once the meeting is over."""
    if audience == "registered":
        return Registration.status.in_(REGISTERED)
    if audience == "checked_in":
        return rules.present()
    if audience == "no_shows":
        if now < meeting.ends_at:
            raise Invalid("No-shows are known once the meeting is over.", field="audience")
        return (Registration.status == RegistrationStatus.GOING) & ~rules.present()
    raise Invalid("Choose who gets the message.", field="audience")


def clean_message(subject: str, body: str) -> tuple[str, str]:
    """The organisers' ``subject`` (on one line) and ``body``, checked against their limits."""
    subject, body = " ".join(subject.split()), body.strip()
    if not subject or len(subject) > SUBJECT_MAX:
        raise Invalid(f"Write a subject of at most {SUBJECT_MAX} characters.", field="subject")
    if not body or len(body) > BODY_MAX:
        raise Invalid(f"Write a message of at most {BODY_MAX} characters.", field="body")
    return subject, body


def message_key(*parts: str) -> str:
    """A short hash of what a message says (and to whom): the same message, the same key."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def queue_message(meeting: Meeting, recipients, subject: str, body: str, key: str, now) -> int:
    """Queue the organisers' message about ``meeting`` to each of ``recipients`` (members who
    keep emails on), with one-click unsubscribe; return how many. ``key`` names the message:
    it is queued once per person, so a double click or a resent form mails nobody twice."""
    queued = 0
    for user in recipients:
        queued += outbox.queue_to_member(
            "message",
            user,
            meeting,
            {"meeting": meeting, "body": body, "subject": subject},
            dedup_key=f"{key}:{user.id}",
            subject=subject,
            now=now,
        )
    return queued


def message_attendees(
    meeting: Meeting, audience: str, subject: str, body: str, now: datetime
) -> int:
    """Queue the organiser's ``subject`` and ``body`` to ``audience``; return how many."""
    subject, body = clean_message(subject, body)
    condition = audience_filter(meeting, audience, now)
    recipients = db.session.scalars(
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.meeting_id == meeting.id, condition, User.followup_emails.is_(True))
        .order_by(User.id)
    )
    key = f"message:{meeting.id}:{message_key(audience, subject, body)}"
    return queue_message(meeting, recipients, subject, body, key, now)


@dataclass(frozen=True)
class MailLine:
    recipient: str
    kind: str
    subject: str
    state: str  # queued | sent | failed
    at: datetime
    error: str


@dataclass(frozen=True)
class MailStates:
    """Every mail of a meeting in counts by state, and the latest few (failed ones first)."""

    counts: dict[str, int]
    latest: list[MailLine]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def mail_states(meeting: Meeting, limit: int = 20) -> MailStates:
    """Two queries whatever the number of mails: counts by state, and the ``limit`` latest,
    failed first (they need the organiser), each with its failure reason."""
    counts = {"queued": 0, "sent": 0, "failed": 0}
    for status, n in db.session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.meeting_id == meeting.id)
        .group_by(OutboxMessage.status)
    ):
        counts[MAIL_STATES[status]] += n
    failed_first = (OutboxMessage.status == MailStatus.FAILED).desc()
    rows = db.session.execute(
        select(
            OutboxMessage.recipient,
            OutboxMessage.kind,
            OutboxMessage.subject,
            OutboxMessage.status,
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at),
            OutboxMessage.last_error,
        )
        .where(OutboxMessage.meeting_id == meeting.id)
        .order_by(failed_first, OutboxMessage.id.desc())
        .limit(limit)
    )
    latest = [MailLine(r[0], r[1], r[2], MAIL_STATES[r[3]], r[4], r[5] or "") for r in rows]
    return MailStates(counts, latest)
