"""Building blocks for follow-up tests: past meetings, check-ins and who met whom."""

from datetime import timedelta

from eventtrack.extensions import db
from eventtrack.models import Connection, Meeting, User

from . import factories


def past_meeting(group, now, *, ago=timedelta(hours=5), delay=120, title="Monthly meetup"):
    """A meeting that started ``ago`` and lasted 2 h (so, by default, ended 3 h ago)."""
    return factories.meeting(
        group, starts_in=-ago, now=now, followup_delay_minutes=delay, title=title
    )


def attend(meeting: Meeting, user: User | None = None, checked_in=True, **profile) -> User:
    """Register ``user`` (a new member if None) and check them in."""
    if user is None:
        user = factories.member(meeting.group, **profile)
    factories.registration(
        meeting,
        user,
        checked_in_at=meeting.starts_at + timedelta(minutes=5) if checked_in else None,
        checkin_how="manual" if checked_in else None,
    )
    return user


def meet(meeting: Meeting, x: User, y: User, note_x: str = "", note_y: str = "") -> Connection:
    """Record that x and y met; each note is its writer's own."""
    if x.id > y.id:
        x, y, note_x, note_y = y, x, note_y, note_x
    c = Connection(
        meeting_id=meeting.id,
        user_a_id=x.id,
        user_b_id=y.id,
        how="scan",
        created_at=meeting.starts_at + timedelta(minutes=30),
        note_a=note_x,
        note_b=note_y,
    )
    db.session.add(c)
    db.session.commit()
    return c
