"""What the door shows organisers while people arrive: live counts, the last scans, the
first-timers to welcome, and search over the registrations. Read-only; check-in itself is
``services.checkin``."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Meeting, Registration, User
from ..models.checkin import CheckinEvent
from ..models.search import like_pattern
from ..models.vocabularies import RegistrationStatus
from . import checkin, members, rules


@dataclass
class Attendance:
    registered: int
    checked_in: int
    walk_ins: int
    waitlist: int
    first_timers: int


@dataclass
class FeedItem:
    id: int
    at: datetime
    action: str
    status: str
    how: str
    name: str
    first_time: bool


def counts(meeting: Meeting) -> Attendance:
    """Live counts for the door."""
    checked = rules.present()
    new = rules.first_time(Registration.user_id, Registration.meeting_id)
    row = db.session.execute(
        select(
            func.count().filter(rules.registered()),
            func.count().filter(checked),
            func.count().filter(checked, rules.walked_in()),
            func.count().filter(Registration.status == RegistrationStatus.WAITLIST),
            func.count().filter(checked, new),
        ).where(Registration.meeting_id == meeting.id)
    ).one()
    return Attendance(*row)


def feed(meeting: Meeting, limit: int = 15) -> list[FeedItem]:
    """The last check-in attempts at ``meeting``, newest first, first-timers flagged; people
    named as the group's organisers may see them (``services.members``)."""
    person, membership, on = members.people_columns(literal(meeting.group_id), User.id)
    name = person[1]
    rows = db.session.execute(
        select(
            CheckinEvent,
            name,
            and_(
                CheckinEvent.status == checkin.CHECKED_IN,
                rules.first_time(Registration.user_id, Registration.meeting_id),
            ),
        )
        .outerjoin(Registration, Registration.id == CheckinEvent.registration_id)
        .outerjoin(User, User.id == Registration.user_id)
        .outerjoin(membership, on)
        .where(CheckinEvent.meeting_id == meeting.id)
        .order_by(CheckinEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        FeedItem(
            id=event.id,
            at=event.at,
            action=event.action,
            status=event.status,
            how=event.how,
            name=name or "",
            first_time=bool(first),
        )
        for event, name, first in rows
    ]


def first_timers(meeting: Meeting) -> list[Registration]:
    """Who is checked in at their first meeting of this group: someone should say hello."""
    return list(
        db.session.scalars(
            select(Registration)
            .options(joinedload(Registration.user))
            .where(
                Registration.meeting_id == meeting.id,
                rules.first_timer(),
            )
            .order_by(Registration.checked_in_at.desc())
        )
    )


@dataclass(frozen=True)
class Found:
    """A registration at the door and its person as the group's organisers may see them."""

    reg: Registration
    person: members.Person


class Matches(list):
    """The registrations a door search shows (a list of ``Found``) and ``total``, how many
    matched in all: the list says "30 of 5,009 shown" instead of stopping without a word."""

    def __init__(self, found: list[Found], total: int, limit: int):
        super().__init__(found)
        self.total = total
        self.limit = limit

    @property
    def cut(self) -> bool:
        """More matched than are shown."""
        return self.total > len(self)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(meeting: Meeting, query: str, limit: int = 30) -> Matches:
    """Registrations of ``meeting`` matching ``query`` whatever its case and accents ("ozlem"
    finds "Özlem" on SQLite and PostgreSQL alike), by name, email or company as the organisers
    may see them: a name or company they may not see is neither shown nor matched. One query,
    which also counts every match (a window count over the same rows).

    The match is on ``Membership.search_key`` (``models.search.fold`` of what the organisers
    may see) and on the address; the visible name and company, lowered, still match too, so a
    membership whose key was written before it was kept up to date is never hidden.
    """
    query = (query or "").strip()[:100]
    person, membership, on = members.people_columns(literal(meeting.group_id), User.id)
    name, company = person[1], person[3]
    stmt = (
        select(Registration, *person, func.count().over())
        .join(User, User.id == Registration.user_id)
        .outerjoin(membership, on)
        .where(Registration.meeting_id == meeting.id)
        .order_by(func.lower(name), Registration.id)
        .limit(limit)
    )
    pattern = like_pattern(query)
    if pattern != "%%":
        lowered = "%" + _escape_like(query.lower()) + "%"
        stmt = stmt.where(
            or_(
                membership.search_key.like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
                User.email.like(lowered, escape="\\"),
                func.lower(name).like(lowered, escape="\\"),
                func.lower(company).like(lowered, escape="\\"),
            )
        )
    rows = db.session.execute(stmt).all()
    found = [Found(row[0], members.person_of(row[1:6])) for row in rows]
    return Matches(found, rows[0][-1] if rows else 0, limit)
