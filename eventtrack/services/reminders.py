"""Reminder emails a set time before a meeting (``meetings.reminder_minutes``; None: off).

``queue_due(now)`` runs every worker round: for each scheduled meeting whose reminder time has
come and whose start is still ahead, it stamps ``reminders_queued_at`` by a conditional UPDATE
(two workers: one wins) and queues one mail per going registration, keyed by registration,
meeting and start, so a rerun queues nothing and a meeting moved to a new time (the edit clears
the stamp) reminds again for the new time. Like the follow-ups, reminders go only to members
who keep follow-up emails on, and carry the one-click unsubscribe that turns them off.
"""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..links import external_url
from ..models import Meeting, Registration, User
from ..models.vocabularies import MeetingStatus, RegistrationStatus
from . import outbox
from .meetings import MAX_REMINDER_MINUTES
from .registrations import pass_url


def due_meetings(now: datetime) -> list[Meeting]:
    """Scheduled meetings ahead whose reminder time has come and that were not reminded yet."""
    candidates = db.session.scalars(
        select(Meeting).where(
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.reminder_minutes.is_not(None),
            Meeting.reminders_queued_at.is_(None),
            Meeting.starts_at > now,
            # The widest reminder bounds the scan; the exact time is checked below (minutes
            # arithmetic in SQL differs between SQLite and PostgreSQL).
            Meeting.starts_at <= now + timedelta(minutes=MAX_REMINDER_MINUTES),
        )
    )
    return [m for m in candidates if remind_at(m) <= now]


def remind_at(meeting: Meeting) -> datetime:
    return meeting.starts_at - timedelta(minutes=meeting.reminder_minutes)


def queue_due(now: datetime) -> int:
    """Queue the reminders that are due; return how many mails were queued."""
    queued = 0
    for meeting in due_meetings(now):
        if _claim(meeting, now):
            queued += queue_for(meeting, now)
    return queued


def _claim(meeting: Meeting, now: datetime) -> bool:
    claimed = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.reminders_queued_at.is_(None))
        .values(reminders_queued_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(meeting, ["reminders_queued_at"])
    return claimed == 1


def queue_for(meeting: Meeting, now: datetime) -> int:
    """One reminder per going registration of ``meeting`` (members who keep follow-up emails
    on; not those who registered after the reminder time, whose pass just came)."""
    regs = db.session.scalars(
        select(Registration)
        .join(User, User.id == Registration.user_id)
        .options(joinedload(Registration.user))
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status == RegistrationStatus.GOING,
            Registration.created_at <= remind_at(meeting),
            User.followup_emails.is_(True),
        )
        .order_by(Registration.id)
    )
    start = meeting.local(meeting.starts_at)
    queued = 0
    for reg in regs:
        queued += outbox.queue_to_member(
            "meeting_reminder",
            reg.user,
            meeting,
            {
                "meeting": meeting,
                "registration": reg,
                "pass_url": pass_url(reg),
                "ics_url": external_url("attendee.pass_ics", token=reg.pass_token),
            },
            dedup_key=(
                f"meeting_reminder:{meeting.id}:{reg.id}:{int(meeting.starts_at.timestamp())}"
            ),
            subject=f"Reminder: {meeting.title}, {start:%a %d %b %H:%M}",
            now=now,
        )
    return queued
