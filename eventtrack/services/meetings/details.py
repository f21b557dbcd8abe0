"""A meeting's details as an organiser types them: the rules they must follow, how they map
onto the stored meeting (UTC times, check-in window) and back."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from sqlalchemy import null, select

from ...extensions import db
from ...models import Meeting
from ...models.vocabularies import MeetingStatus, RegistrationStatus
from ..errors import Invalid, require_fits
from ..groups import check_timezone

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
# Reminder choices offered on the form (minutes before the start; None: no reminder).
REMINDERS = {
    None: "No reminder",
    120: "2 hours before",
    1440: "24 hours before",
    2880: "48 hours before",
}
MAX_REMINDER_MINUTES = 7 * 24 * 60
REGISTERED = (RegistrationStatus.GOING, RegistrationStatus.WAITLIST)


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
    reminder_minutes: int | None = 24 * 60


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


def rhythm(first: datetime, kind: str, count: int | None = None) -> rrule:
    """The local start times of a series on the rhythm ``kind`` from ``first`` (``count`` of
    them, or without end): weekly, every two weeks, or monthly on the same weekday of the month
    (the 1st..4th, or the last)."""
    if kind in ("weekly", "biweekly"):
        return rrule(WEEKLY, interval=2 if kind == "biweekly" else 1, dtstart=first, count=count)
    if kind == "monthly":
        nth = weekday(first.weekday(), nth_weekday(first))
        return rrule(MONTHLY, dtstart=first, count=count, byweekday=nth)
    raise Invalid(f"Unknown repetition {kind!r}.", field="recurrence")


def occurrences(first: datetime, kind: str, count: int) -> list[datetime]:
    """Local start times of a series (wall-clock, so 18:30 stays 18:30 across DST)."""
    if kind == "none":
        return [first]
    if not 2 <= count <= MAX_OCCURRENCES:
        raise Invalid(f"A series has 2 to {MAX_OCCURRENCES} meetings.", field="count")
    return list(rhythm(first, kind, count))


def validate(details: MeetingDetails) -> None:
    """The rules of a meeting's details on their own (see ``_check_start`` for those that need
    the clock or the group's other meetings)."""
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
    if details.reminder_minutes is not None and not (
        0 < details.reminder_minutes <= MAX_REMINDER_MINUTES
    ):
        raise Invalid("Reminders go out up to 7 days before, or not at all.", field="reminder")


def check_not_past(starts_local: datetime, tz: str, now: datetime) -> None:
    if to_utc(starts_local, tz) <= now:
        local_now = now.astimezone(ZoneInfo(tz))
        raise Invalid(
            f"That start is in the past (it is now {local_now:%d %b %Y %H:%M} in {tz}). "
            "Pick a later date or time.",
            field="date",
        )


def check_no_duplicate(group_id: int, starts: list[datetime], exclude_id: int | None) -> None:
    """Refuse a second meeting of the group starting at the same moment as a scheduled one:
    the usual cause is a copy saved twice, which nobody wants to find on the group page."""
    query = select(Meeting).where(
        Meeting.group_id == group_id,
        Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.starts_at.in_(starts),
    )
    if exclude_id is not None:
        query = query.where(Meeting.id != exclude_id)
    clash = db.session.scalars(query.order_by(Meeting.starts_at).limit(1)).first()
    if clash is not None:
        when = clash.local(clash.starts_at)
        raise Invalid(
            f"The group already has a meeting at that time: {clash.title!r} on "
            f"{when:%A %d %B %Y at %H:%M}. Change the date, or tick "
            "\u201csave anyway\u201d for a second meeting at the same time.",
            field="date",
            code="duplicate_meeting",
        )


def apply_details(meeting: Meeting, details: MeetingDetails, starts_local: datetime) -> None:
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
    # null(), not None: the ORM would let the column's default (24 h) replace a None.
    meeting.reminder_minutes = (
        null() if details.reminder_minutes is None else details.reminder_minutes
    )


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
        reminder_minutes=meeting.reminder_minutes,
    )
