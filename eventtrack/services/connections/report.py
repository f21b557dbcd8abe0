"""What organisers and integrations see of the connections at a meeting: who met whom, how and
when, and counts per attendee — never notes."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Connection, Meeting, Registration, User
from ...models.vocabularies import ConnectionHow
from .presence import checked_in_users, newcomer_ids


@dataclass
class Pair:
    """A connection as organisers and integrations see it: never with notes."""

    id: int
    a_registration_id: int | None
    a: User
    b_registration_id: int | None
    b: User
    how: str
    created_at: datetime


@dataclass
class AttendeeCount:
    person: User
    connections: int
    newcomer: bool


@dataclass
class Summary:
    total: int
    by_how: dict[str, int]
    attendees: list[AttendeeCount]
    newcomers_without_connection: list[User]


def _registration_ids(meeting_id: int, user_ids: list[int] | None = None) -> dict[int, int]:
    stmt = select(Registration.user_id, Registration.id).where(
        Registration.meeting_id == meeting_id
    )
    if user_ids is not None:
        stmt = stmt.where(Registration.user_id.in_(user_ids))
    return dict(db.session.execute(stmt).all())


def _pair(c: Connection, reg_ids: dict[int, int]) -> Pair:
    return Pair(
        id=c.id,
        a_registration_id=reg_ids.get(c.user_a_id),
        a=c.user_a,
        b_registration_id=reg_ids.get(c.user_b_id),
        b=c.user_b,
        how=c.how,
        created_at=c.created_at,
    )


def pair_of(conn: Connection) -> Pair:
    """One connection as organisers and integrations see it (no notes)."""
    return _pair(conn, _registration_ids(conn.meeting_id, [conn.user_a_id, conn.user_b_id]))


def pairs(meeting: Meeting) -> list[Pair]:
    """Every connection at ``meeting`` with who, how and when (never notes), oldest first."""
    reg_ids = _registration_ids(meeting.id)
    conns = db.session.scalars(
        select(Connection)
        .options(joinedload(Connection.user_a), joinedload(Connection.user_b))
        .where(Connection.meeting_id == meeting.id)
        .order_by(Connection.created_at, Connection.id)
    )
    return [_pair(c, reg_ids) for c in conns]


def summary(meeting: Meeting) -> Summary:
    """Counts for organisers: connections per checked-in attendee, newcomers still alone."""
    rows = db.session.execute(
        select(Connection.user_a_id, Connection.user_b_id, Connection.how).where(
            Connection.meeting_id == meeting.id
        )
    ).all()
    per_user: dict[int, int] = {}
    by_how = dict.fromkeys(ConnectionHow, 0)
    for a, b, how in rows:
        per_user[a] = per_user.get(a, 0) + 1
        per_user[b] = per_user.get(b, 0) + 1
        by_how[how] = by_how.get(how, 0) + 1
    present = db.session.scalars(checked_in_users(meeting))
    newcomers = newcomer_ids(meeting)
    attendees = sorted(
        (AttendeeCount(u, per_user.get(u.id, 0), u.id in newcomers) for u in present),
        key=lambda c: (-c.connections, c.person.name.casefold(), c.person.id),
    )
    return Summary(
        total=len(rows),
        by_how=by_how,
        attendees=attendees,
        newcomers_without_connection=[
            c.person for c in attendees if c.newcomer and c.connections == 0
        ],
    )
