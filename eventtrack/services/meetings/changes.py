"""Changing meetings: create (one or a series), edit, cancel, un-cancel, delete; and the mail
that tells everyone registered (going and waitlist) of a new time or place, a cancellation
or a meeting on again."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update

from ...extensions import db
from ...links import external_url
from ...models import Group, Meeting, Registration
from ...models.vocabularies import MeetingStatus
from .. import groups, outbox, registrations
from ..errors import DomainError
from .details import (
    REGISTERED,
    MeetingDetails,
    apply_details,
    check_no_duplicate,
    check_not_past,
    occurrences,
    to_utc,
    validate,
)


@dataclass
class MeetingUpdate:
    """What an edit did: who moved up from the waitlist, and who was told of a new time or place."""

    promoted: list
    told: int = 0
    changed: tuple[str, ...] = ()  # "time", "place"


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
    refused unless ``duplicate_ok``. An archived group takes no new meetings.
    """
    groups.require_active(group)
    validate(details)
    starts = occurrences(details.starts_local, recurrence, count)
    if now is not None:
        check_not_past(details.starts_local, details.timezone, now)
    if not duplicate_ok:
        check_no_duplicate(group.id, [to_utc(s, details.timezone) for s in starts], None)
    series_id = secrets.token_hex(8) if len(starts) > 1 else None
    meetings = []
    for start in starts:
        meeting = Meeting(group_id=group.id, series_id=series_id, status=MeetingStatus.SCHEDULED)
        apply_details(meeting, details, start)
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
    validate(details)
    new_start = to_utc(details.starts_local, details.timezone)
    if new_start != meeting.starts_at:
        check_not_past(details.starts_local, details.timezone, now)
        if not duplicate_ok:
            check_no_duplicate(meeting.group_id, [new_start], meeting.id)
    registrations.lock_meeting(meeting)
    db.session.refresh(meeting)  # "before" as committed, once the lock is held: one notice
    before = (meeting.starts_at, meeting.ends_at, meeting.venue)
    apply_details(meeting, details, details.starts_local)
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
