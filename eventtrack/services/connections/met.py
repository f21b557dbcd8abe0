"""The people someone met at a meeting, as they may see them: with their own note only, and the
other side's contact details where that person consents."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Connection, Meeting, User
from ..errors import NotFound
from .contacts import Contact, shared_contact


@dataclass
class Met:
    """One person the viewer met, as the viewer may see it: with the viewer's own note only."""

    connection_id: int
    person: User
    how: str
    created_at: datetime
    my_note: str
    contact: Contact | None


def _involving(user: User):
    return or_(Connection.user_a_id == user.id, Connection.user_b_id == user.id)


def mine(connection_id: int, user: User) -> Connection:
    """Connection ``connection_id`` if ``user`` is one of its two sides, else ``NotFound``."""
    conn = db.session.scalar(
        select(Connection).where(Connection.id == connection_id, _involving(user))
    )
    if conn is None:
        raise NotFound("connection")
    return conn


def met_at(meeting: Meeting, viewer: User) -> list[Met]:
    """The people ``viewer`` met at ``meeting``, newest first, with ``viewer``'s notes only."""
    conns = db.session.scalars(
        select(Connection)
        .options(joinedload(Connection.user_a), joinedload(Connection.user_b))
        .where(Connection.meeting_id == meeting.id, _involving(viewer))
        .order_by(Connection.created_at.desc(), Connection.id.desc())
    )
    met = []
    for conn in conns:
        mine_is_a = conn.user_a_id == viewer.id
        other = conn.user_b if mine_is_a else conn.user_a
        met.append(
            Met(
                connection_id=conn.id,
                person=other,
                how=conn.how,
                created_at=conn.created_at,
                my_note=conn.note_a if mine_is_a else conn.note_b,
                # The pair is connected by construction: consent alone decides, read now.
                contact=shared_contact(other),
            )
        )
    return met


def met_ids(meeting: Meeting, viewer: User) -> set[int]:
    """Ids of the people ``viewer`` met at ``meeting``."""
    rows = db.session.execute(
        select(Connection.user_a_id, Connection.user_b_id).where(
            Connection.meeting_id == meeting.id, _involving(viewer)
        )
    )
    return {b if a == viewer.id else a for a, b in rows}
