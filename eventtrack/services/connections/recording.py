"""Recording that two people met, and deleting it again.

A connection is one row per unordered pair per meeting (stored ordered, ``a < b``, under a
unique key). Recording is ``INSERT … ON CONFLICT DO NOTHING`` in the caller's transaction:
whoever scans first creates it, and a second scan, by either side (two phones at once
included), only updates the scanner's own note. Both people must be here (``presence.here``).
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from ...database import insert_ignoring
from ...extensions import db
from ...models import Connection, Meeting, Registration, User
from ...models.vocabularies import ConnectionHow
from ..errors import Invalid
from .codes import resolve_code
from .errors import CannotConnect
from .met import mine
from .notes import clean_note, set_own_note
from .presence import attending, here

ATTENDEE_HOWS = (ConnectionHow.SCAN, ConnectionHow.LIST)


def check_pair(meeting: Meeting, me: User, other: User, now: datetime) -> None:
    """Raise ``CannotConnect`` unless ``me`` and ``other`` may record that they met."""
    if me.id == other.id:
        raise CannotConnect(
            "own_code",
            "That's your own code. Show it to the other person so they can scan it.",
        )
    if attending(meeting, me) is None:
        elsewhere = db.session.scalar(
            select(Meeting)
            .join(Registration, Registration.meeting_id == Meeting.id)
            .where(
                Registration.user_id == me.id,
                here(),
                Registration.checked_in_at >= now - timedelta(days=1),
                Meeting.id != meeting.id,
            )
            .order_by(Registration.checked_in_at.desc())
            .limit(1)
        )
        if elsewhere is not None:
            raise CannotConnect(
                "not_this_meeting",
                f"This code is for “{meeting.title}”, but you are checked in at "
                f"“{elsewhere.title}”. Only people at the same meeting can connect.",
            )
        raise CannotConnect(
            "not_checked_in",
            f"You are not checked in at “{meeting.title}”. Check in at the door first, "
            "then try again.",
        )
    if attending(meeting, other) is None:
        raise CannotConnect(
            "other_not_checked_in",
            # No name: whoever holds a code may not be someone its owner showed it to.
            f"This person is not checked in at “{meeting.title}”. Both of you need to be "
            "checked in to connect.",
        )


def insert_pair(
    meeting: Meeting, one: int, two: int, how: str, by: int | None, now: datetime
) -> tuple[Connection, bool]:
    """Create the pair's row unless it exists; return (row, created)."""
    a, b = sorted((one, two))
    # RETURNING says whether this statement created the row: rowcount is not reliable for
    # ORM-enabled INSERTs (psycopg reports -1).
    new_id = db.session.scalar(
        insert_ignoring(Connection.__table__, "meeting_id", "user_a_id", "user_b_id")
        .values(
            meeting_id=meeting.id,
            user_a_id=a,
            user_b_id=b,
            how=how,
            created_by_id=by,
            created_at=now,
            note_a="",
            note_b="",
        )
        .returning(Connection.__table__.c.id)
    )
    conn = db.session.scalar(
        select(Connection).where(
            Connection.meeting_id == meeting.id,
            Connection.user_a_id == a,
            Connection.user_b_id == b,
        )
    )
    return conn, new_id is not None


def record_connection(
    meeting: Meeting, scanner: User, other: User, how: str, note: str | None, now: datetime
) -> tuple[Connection, bool]:
    """Record that ``scanner`` met ``other`` at ``meeting``; return (connection, created).

    Symmetric and once per pair: a repeat (by either side) records nothing new and, if a note
    is given, replaces only the scanner's own note. An empty note never erases one.
    """
    if how not in ATTENDEE_HOWS:
        raise Invalid(f"Unknown way of meeting {how!r}.", field="how")
    note = clean_note(note)
    check_pair(meeting, scanner, other, now)
    conn, created = insert_pair(meeting, scanner.id, other.id, how, scanner.id, now)
    if note:
        set_own_note(conn, scanner.id, note)
    db.session.flush()
    return conn, created


def record_scan(token: str, scanner: User, note: str | None, now: datetime):
    """Record a "We met" from a scanned connect code; return (connection, created, other)."""
    reg = resolve_code(token)
    conn, created = record_connection(reg.meeting, scanner, reg.user, ConnectionHow.SCAN, note, now)
    return conn, created, reg.user


def delete_connection(connection_id: int, actor: User) -> int:
    """Delete a connection recorded by mistake, for both sides; either participant may.

    Returns the meeting id. Deleting what the other side deleted a moment ago is no error.
    """
    meeting_id = mine(connection_id, actor).meeting_id
    db.session.execute(
        delete(Connection).where(
            Connection.id == connection_id,
            or_(Connection.user_a_id == actor.id, Connection.user_b_id == actor.id),
        )
    )
    return meeting_id
