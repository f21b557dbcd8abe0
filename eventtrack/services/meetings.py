"""Meetings: one-off or a repeating series, each occurrence editable on its own."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from sqlalchemy import func, select

from ..extensions import db
from ..links import external_url
from ..models import Group, Meeting, Membership, Registration, User
from ..models.vocabularies import MeetingStatus, RegistrationStatus
from . import outbox, registrations, rules
from .errors import Invalid, require_fits
from .groups import check_timezone

RECURRENCES = {
    "none": "Does not repeat",
    "weekly": "Every week",
    "biweekly": "Every 2 weeks",
    "monthly": "Every month, same weekday (e.g. every 2nd Tuesday)",
}
MAX_OCCURRENCES = 52
# Capacity is an INTEGER column; no room we serve holds more.
MAX_CAPACITY = 100_000
# Local start and end times lie in these years: far enough inside datetime's own range (years
# 1 to 9999) that no timezone, check-in window or series of 52 can step outside it.
FIRST_YEAR, LAST_YEAR = 1970, 8999
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}


@dataclass
class MeetingDetails:
    """What an organiser types in: times are wall-clock times in ``timezone``."""

    title: str
    starts_local: datetime
    ends_local: datetime
    timezone: str = "UTC"
    description: str = ""
    venue: str = ""
    capacity: int | None = None
    checkin_opens_minutes: int = 60  # before the start
    checkin_closes_minutes: int = 0  # after the end
    followup_delay_minutes: int = 120


def to_utc(local: datetime, tz: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def nth_weekday(day: datetime) -> int:
    """Which weekday of its month ``day`` is: 1..4, or -1 for the last (so 5ths repeat)."""
    n = (day.day - 1) // 7 + 1
    return -1 if n >= 5 else n


def describe_recurrence(kind: str, first: datetime) -> str:
    if kind == "monthly":
        return f"every {ORDINALS[nth_weekday(first)]} {first:%A} of the month"
    return RECURRENCES[kind].lower()


def occurrences(first: datetime, kind: str, count: int) -> list[datetime]:
    """Local start times of a series (wall-clock, so 18:30 stays 18:30 across DST)."""
    if kind == "none":
        return [first]
    if not 2 <= count <= MAX_OCCURRENCES:
        raise Invalid(f"A series has 2 to {MAX_OCCURRENCES} meetings.", field="count")
    if kind == "weekly":
        rule = rrule(WEEKLY, dtstart=first, count=count)
    elif kind == "biweekly":
        rule = rrule(WEEKLY, interval=2, dtstart=first, count=count)
    elif kind == "monthly":
        rule = rrule(
            MONTHLY,
            dtstart=first,
            count=count,
            byweekday=weekday(first.weekday(), nth_weekday(first)),
        )
    else:
        raise Invalid(f"Unknown repetition {kind!r}.", field="recurrence")
    return list(rule)


def _validate(details: MeetingDetails) -> None:
    if not require_fits(details.title, Meeting.title, "The title", "title"):
        raise Invalid("Give the meeting a title.", field="title")
    require_fits(details.description, Meeting.description, "The description", "description")
    require_fits(details.venue, Meeting.venue, "The venue", "venue")
    check_timezone(details.timezone)
    if not FIRST_YEAR <= details.starts_local.year <= details.ends_local.year <= LAST_YEAR:
        raise Invalid(f"Pick a date between {FIRST_YEAR} and {LAST_YEAR}.", field="date")
    if details.ends_local <= details.starts_local:
        raise Invalid("The meeting must end after it starts.", field="ends_local")
    if details.capacity is not None and not 1 <= details.capacity <= MAX_CAPACITY:
        raise Invalid(
            f"Capacity is 1 to {MAX_CAPACITY:,}, or empty for no limit.", field="capacity"
        )
    if not 0 <= details.checkin_opens_minutes <= 24 * 60:
        raise Invalid("Check-in opens 0 to 1440 minutes before.", field="checkin_opens_minutes")
    if not 0 <= details.checkin_closes_minutes <= 24 * 60:
        raise Invalid("Check-in closes 0 to 1440 minutes after.", field="checkin_closes_minutes")
    if not 0 <= details.followup_delay_minutes <= 14 * 24 * 60:
        raise Invalid("Follow-ups go out within 14 days.", field="followup_delay_minutes")


def _apply(meeting: Meeting, details: MeetingDetails, starts_local: datetime) -> None:
    duration = details.ends_local - details.starts_local
    meeting.title = details.title.strip()
    meeting.description = (details.description or "").strip()
    meeting.venue = (details.venue or "").strip()
    meeting.timezone = details.timezone
    meeting.starts_at = to_utc(starts_local, details.timezone)
    meeting.ends_at = to_utc(starts_local + duration, details.timezone)
    meeting.capacity = details.capacity
    meeting.checkin_opens_at = meeting.starts_at - timedelta(minutes=details.checkin_opens_minutes)
    meeting.checkin_closes_at = meeting.ends_at + timedelta(minutes=details.checkin_closes_minutes)
    meeting.followup_delay_minutes = details.followup_delay_minutes


def create_meetings(
    group: Group, details: MeetingDetails, recurrence: str = "none", count: int = 1
) -> list[Meeting]:
    """Create one meeting, or a series of ``count`` with a shared ``series_id``."""
    _validate(details)
    starts = occurrences(details.starts_local, recurrence, count)
    series_id = secrets.token_hex(8) if len(starts) > 1 else None
    meetings = []
    for start in starts:
        meeting = Meeting(group_id=group.id, series_id=series_id, status=MeetingStatus.SCHEDULED)
        _apply(meeting, details, start)
        db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    return meetings


def update_meeting(meeting: Meeting, details: MeetingDetails, now: datetime) -> list:
    """Edit this one meeting (the rest of its series is untouched); return who moved up from
    the waitlist because the capacity grew."""
    _validate(details)
    registrations.lock_meeting(meeting)
    _apply(meeting, details, details.starts_local)
    return registrations.fill_from_waitlist(meeting, now)


def details_of(meeting: Meeting) -> MeetingDetails:
    """The editable details of ``meeting``, in its own timezone."""
    start, end = meeting.local(meeting.starts_at), meeting.local(meeting.ends_at)
    return MeetingDetails(
        title=meeting.title,
        description=meeting.description,
        venue=meeting.venue,
        timezone=meeting.timezone,
        starts_local=start.replace(tzinfo=None),
        ends_local=end.replace(tzinfo=None),
        capacity=meeting.capacity,
        checkin_opens_minutes=int(
            (meeting.starts_at - meeting.checkin_opens_at).total_seconds() // 60
        ),
        checkin_closes_minutes=int(
            (meeting.checkin_closes_at - meeting.ends_at).total_seconds() // 60
        ),
        followup_delay_minutes=meeting.followup_delay_minutes,
    )


def last_meeting(group: Group) -> Meeting | None:
    return db.session.scalar(
        select(Meeting)
        .where(Meeting.group_id == group.id)
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )


def copy_of_last(group: Group, now: datetime) -> MeetingDetails | None:
    """Details for a new meeting copied from the group's last one, moved past ``now``."""
    last = last_meeting(group)
    if last is None:
        return None
    details = details_of(last)
    step = timedelta(weeks=1)
    now_local = now.astimezone(ZoneInfo(last.timezone)).replace(tzinfo=None)
    while details.starts_local <= now_local:
        details.starts_local += step
        details.ends_local += step
    return details


def cancel_meeting(meeting: Meeting, now: datetime) -> int:
    """Cancel ``meeting`` and tell everyone registered; return how many were told."""
    if meeting.status == MeetingStatus.CANCELLED:
        return 0
    meeting.status = MeetingStatus.CANCELLED
    told = 0
    regs = db.session.scalars(
        select(Registration).where(
            Registration.meeting_id == meeting.id,
            Registration.status.in_((RegistrationStatus.GOING, RegistrationStatus.WAITLIST)),
        )
    )
    for reg in regs:
        told += outbox.queue_mail(
            "meeting_cancelled",
            context={
                "meeting": meeting,
                "user": reg.user,
                "group_url": external_url("attendee.meeting", meeting_id=meeting.id),
            },
            kind="meeting_cancelled",
            dedup_key=f"meeting_cancelled:{meeting.id}:{reg.user_id}",
            recipient=reg.user.email,
            recipient_name=reg.user.name,
            user_id=reg.user_id,
            meeting_id=meeting.id,
            subject=f"Cancelled: {meeting.title}",
            now=now,
        )
    return told


def upcoming(group: Group, now: datetime) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.group_id == group.id, Meeting.ends_at >= now)
            .order_by(Meeting.starts_at)
        )
    )


def past(group: Group, now: datetime) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.group_id == group.id, Meeting.ends_at < now)
            .order_by(Meeting.starts_at.desc())
        )
    )


def counts(meeting: Meeting) -> dict[str, int]:
    """Registrations by status, plus checked in."""
    rows = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.meeting_id == meeting.id)
        .group_by(Registration.status)
    ).all()
    result = {status.value: 0 for status in RegistrationStatus}
    result.update(dict(rows))
    result["checked_in"] = db.session.scalar(
        select(func.count()).where(Registration.meeting_id == meeting.id, rules.present())
    )
    return result


def members_meetings(user: User, now: datetime) -> list[Meeting]:
    """Upcoming meetings of the groups ``user`` belongs to."""
    return list(
        db.session.scalars(
            select(Meeting)
            .join(Membership, Membership.group_id == Meeting.group_id)
            .where(Membership.user_id == user.id, Meeting.ends_at >= now)
            .order_by(Meeting.starts_at)
        )
    )
