"""Meetings: one-off or a repeating series, each occurrence editable on its own."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from sqlalchemy import delete, exists, func, null, select, update

from ..extensions import db
from ..links import external_url
from ..models import Group, Meeting, Membership, Registration, User
from ..models.vocabularies import MeetingStatus, RegistrationStatus
from . import outbox, registrations, rules
from .errors import DomainError, Invalid, require_fits
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


@dataclass
class MeetingUpdate:
    """What an edit did: who moved up from the waitlist, and who was told of a new time or place."""

    promoted: list
    told: int = 0
    changed: tuple[str, ...] = ()  # "time", "place"


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


def _check_not_past(starts_local: datetime, tz: str, now: datetime) -> None:
    if to_utc(starts_local, tz) <= now:
        local_now = now.astimezone(ZoneInfo(tz))
        raise Invalid(
            f"That start is in the past (it is now {local_now:%d %b %Y %H:%M} in {tz}). "
            "Pick a later date or time.",
            field="date",
        )


def _check_no_duplicate(group_id: int, starts: list[datetime], exclude_id: int | None) -> None:
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
    # null(), not None: the ORM would let the column's default (24 h) replace a None.
    meeting.reminder_minutes = (
        null() if details.reminder_minutes is None else details.reminder_minutes
    )


def create_meetings(
    group: Group,
    details: MeetingDetails,
    recurrence: str = "none",
    count: int = 1,
    *,
    now: datetime | None = None,
    duplicate_ok: bool = False,
) -> list[Meeting]:
    """Create one meeting, or a series of ``count`` with a shared ``series_id``.

    With ``now`` (the pages pass it), a start in the past is refused; without it (the demo
    plants a past meeting) it is not. A meeting at the same start as one of the group's is
    refused unless ``duplicate_ok``.
    """
    _validate(details)
    starts = occurrences(details.starts_local, recurrence, count)
    if now is not None:
        _check_not_past(details.starts_local, details.timezone, now)
    if not duplicate_ok:
        _check_no_duplicate(group.id, [to_utc(s, details.timezone) for s in starts], None)
    series_id = secrets.token_hex(8) if len(starts) > 1 else None
    meetings = []
    for start in starts:
        meeting = Meeting(group_id=group.id, series_id=series_id, status=MeetingStatus.SCHEDULED)
        _apply(meeting, details, start)
        db.session.add(meeting)
        meetings.append(meeting)
    db.session.flush()
    return meetings


def update_meeting(
    meeting: Meeting, details: MeetingDetails, now: datetime, *, duplicate_ok: bool = False
) -> MeetingUpdate:
    """Edit this one meeting (the rest of its series is untouched).

    Moving it into the past is refused; a past meeting's other details (title, notes,
    capacity…) stay editable, so records can be corrected. When a scheduled meeting ahead
    gets a new time or place, everyone registered (going and waitlist) is mailed once per
    change; a title-only edit mails nobody.
    """
    _validate(details)
    new_start = to_utc(details.starts_local, details.timezone)
    if new_start != meeting.starts_at:
        _check_not_past(details.starts_local, details.timezone, now)
        if not duplicate_ok:
            _check_no_duplicate(meeting.group_id, [new_start], meeting.id)
    registrations.lock_meeting(meeting)
    before = (meeting.starts_at, meeting.ends_at, meeting.venue)
    _apply(meeting, details, details.starts_local)
    changed = tuple(
        what
        for what, moved in (
            ("time", before[:2] != (meeting.starts_at, meeting.ends_at)),
            ("place", before[2] != meeting.venue),
        )
        if moved
    )
    if before[0] != meeting.starts_at:
        meeting.reminders_queued_at = None  # a reminder for the new time, if still ahead
    result = MeetingUpdate(promoted=registrations.fill_from_waitlist(meeting, now), changed=changed)
    if changed and meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at > now:
        result.told = _tell_registered(
            meeting,
            "meeting_changed",
            f"Changed: {meeting.title}",
            now,
            changed=changed,
            before={"starts_at": before[0], "venue": before[2]},
        )
    return result


def registered_count(meeting: Meeting) -> int:
    """How many are registered (going or waitlist): those a change or cancellation tells."""
    return db.session.scalar(
        select(func.count()).where(
            Registration.meeting_id == meeting.id, Registration.status.in_(REGISTERED)
        )
    )


def _tell_registered(meeting: Meeting, kind: str, subject: str, now: datetime, **extra) -> int:
    """Queue the ``kind`` mail to everyone registered (going and waitlist); return how many.

    One mail per event: the key carries ``now``, and callers change the meeting by a
    conditional UPDATE first, so two organisers pressing at once tell people once.
    """
    regs = db.session.scalars(
        select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.status.in_(REGISTERED)
        )
    )
    told = 0
    for reg in regs:
        told += outbox.queue_mail(
            kind,
            context={
                "meeting": meeting,
                "user": reg.user,
                "registration": reg,
                "group_url": external_url("attendee.meeting", meeting_id=meeting.id),
                "pass_url": registrations.pass_url(reg),
                **extra,
            },
            kind=kind,
            dedup_key=f"{kind}:{meeting.id}:{reg.user_id}:{now.timestamp():.6f}",
            recipient=reg.user.email,
            recipient_name=reg.user.name,
            user_id=reg.user_id,
            meeting_id=meeting.id,
            subject=subject,
            now=now,
        )
    return told


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


def last_meeting(group: Group) -> Meeting | None:
    return db.session.scalar(
        select(Meeting)
        .where(Meeting.group_id == group.id)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(1)
    )


def rhythm_of(last: Meeting) -> str:
    """The group's rhythm as seen from its last meeting: the gap to the one before it (in its
    series if it has one), read as weekly, biweekly or monthly; weekly when there is no clue."""
    before = select(Meeting).where(
        Meeting.group_id == last.group_id,
        Meeting.starts_at < last.starts_at,
        Meeting.status == MeetingStatus.SCHEDULED,
    )
    if last.series_id:
        before = before.where(Meeting.series_id == last.series_id)
    previous = db.session.scalar(before.order_by(Meeting.starts_at.desc()).limit(1))
    if previous is None:
        return "weekly"
    gap = (last.local(last.starts_at).date() - previous.local(previous.starts_at).date()).days
    if gap == 14:
        return "biweekly"
    if 28 <= gap <= 35 and gap % 7 == 0:
        return "monthly"
    return "weekly"


def _slots_after(first: datetime, kind: str):
    """Local start times on the rhythm ``kind``, strictly after ``first``."""
    if kind == "monthly":
        rule = rrule(MONTHLY, dtstart=first, byweekday=weekday(first.weekday(), nth_weekday(first)))
    else:
        rule = rrule(WEEKLY, interval=2 if kind == "biweekly" else 1, dtstart=first)
    return (start for start in rule if start > first)


def copy_of_last(group: Group, now: datetime) -> MeetingDetails | None:
    """Details for a new meeting copied from the group's last one, on the series' next free
    slot: the first date after the last meeting, on its rhythm, in the future, that no
    scheduled meeting of the group occupies (same local day)."""
    last = last_meeting(group)
    if last is None:
        return None
    details = details_of(last)
    duration = details.ends_local - details.starts_local
    taken = {
        last.local(start).date()
        for start in db.session.scalars(
            select(Meeting.starts_at).where(
                Meeting.group_id == group.id,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at > min(now, last.starts_at),
            )
        )
    }
    for start in _slots_after(details.starts_local, rhythm_of(last)):
        if to_utc(start, details.timezone) > now and start.date() not in taken:
            details.starts_local, details.ends_local = start, start + duration
            return details
    return None  # past year 9999: nothing to offer


def _set_status(meeting: Meeting, old: MeetingStatus, new: MeetingStatus) -> bool:
    """Move ``meeting`` from ``old`` to ``new`` by a conditional UPDATE; True if this call did."""
    moved = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.status == old)
        .values(status=new)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(meeting, ["status"])
    return moved == 1


def cancel_meeting(meeting: Meeting, now: datetime) -> int:
    """Cancel ``meeting`` and tell everyone registered; return how many were told."""
    if not _set_status(meeting, MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED):
        return 0
    return _tell_registered(meeting, "meeting_cancelled", f"Cancelled: {meeting.title}", now)


def uncancel_meeting(meeting: Meeting, now: datetime) -> int:
    """Put a cancelled meeting back and tell everyone still registered that it is on again;
    return how many were told. A meeting whose start has passed stays cancelled."""
    if meeting.status != MeetingStatus.CANCELLED:
        return 0
    if meeting.starts_at <= now:
        raise DomainError("meeting_over", "This meeting's start has passed: it cannot be put back.")
    if not _set_status(meeting, MeetingStatus.CANCELLED, MeetingStatus.SCHEDULED):
        return 0
    return _tell_registered(meeting, "meeting_uncancelled", f"On again: {meeting.title}", now)


def delete_meeting(meeting: Meeting) -> None:
    """Delete a meeting nobody ever registered for (a cancelled registration counts: its
    history stays). One conditional DELETE, so a registration arriving meanwhile wins."""
    deleted = db.session.execute(
        delete(Meeting)
        .where(
            Meeting.id == meeting.id,
            ~exists().where(Registration.meeting_id == meeting.id),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if deleted != 1:
        raise DomainError(
            "meeting_has_registrations",
            "People have registered for this meeting, so it cannot be deleted: "
            "cancel it instead (everyone registered is told).",
        )
    db.session.expunge(meeting)


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
