"""The series' next free slot: what "new meeting as a copy of the last one" proposes."""

from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Group, Meeting
from ...models.vocabularies import MeetingStatus
from .details import MeetingDetails, details_of, rhythm, to_utc


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
    return (start for start in rhythm(first, kind) if start > first)


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
