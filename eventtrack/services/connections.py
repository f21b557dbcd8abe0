"""Who met whom at a meeting (issue #4): connect codes, recording, notes, contact details,
organiser rounds and counts.

The privacy rules live here, once:

- A connection is one row per unordered pair per meeting (stored ordered, ``a < b``, under a
  unique key). Recording is ``INSERT … ON CONFLICT DO NOTHING``: whoever scans first creates it,
  and a second scan, by either side, only updates the scanner's own note.
- Both people must be checked in (registration ``going`` with ``checked_in_at``) at that meeting.
- A note is read and written by its author only: nothing here hands out the other side's note,
  and the organiser and API views get no notes at all.
- Contact details are computed at read time from a connection and the owner's *current*
  ``share_contact`` consent, so withdrawing consent hides them at once.
"""

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import combinations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload

from ..database import insert_ignoring
from ..extensions import db
from ..links import external_url
from ..models import Connection, Meeting, Registration, User
from ..models.connect import ConnectCode
from ..models.limits import max_length
from .errors import DomainError, Invalid, NotFound

ATTENDEE_HOWS = ("scan", "list")
MAX_NOTE = max_length(Connection.note_a)  # each side's note: one limit, the column's
MAX_QUERY = 100
MAX_ROUND_ROWS = 5000
# new_connect_token(): 18 random bytes → 24 URL-safe characters.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{24}")


class CannotConnect(DomainError):
    """These two cannot be connected here and now (own code, not checked in, other meeting)."""

    status = 409


class UnknownCode(DomainError):
    status = 404


@dataclass(frozen=True)
class Contact:
    email: str
    phone: str


@dataclass
class Met:
    """One person the viewer met, as the viewer may see it: with the viewer's own note only."""

    connection_id: int
    person: User
    how: str
    created_at: datetime
    my_note: str
    contact: Contact | None


@dataclass
class Here:
    person: User
    met: bool


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


@dataclass
class RoundsResult:
    created: int = 0
    existing: int = 0
    tables: int = 0
    errors: list[str] = field(default_factory=list)


# --- connect codes -------------------------------------------------------------------------


def new_connect_token() -> str:
    """144 random bits, URL-safe: unguessable, and unrelated to the pass token."""
    return secrets.token_urlsafe(18)


def attending(meeting: Meeting, user: User) -> Registration | None:
    """``user``'s registration at ``meeting`` if they are going and checked in, else None."""
    return db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting.id,
            Registration.user_id == user.id,
            Registration.status == "going",
            Registration.checked_in_at.is_not(None),
        )
    )


def person_here(meeting: Meeting, user_id: int) -> User:
    """The user ``user_id`` if checked in at ``meeting``, else ``NotFound``: a form naming any
    other id learns nothing, not even whether that user exists."""
    user = db.session.scalar(checked_in_users(meeting).where(User.id == user_id))
    if user is None:
        raise NotFound("person here")
    return user


def checked_in_users(meeting: Meeting):
    """SELECT of the users checked in at ``meeting`` (a place among the 'going')."""
    return (
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status == "going",
            Registration.checked_in_at.is_not(None),
        )
    )


def code_for(reg: Registration, now: datetime) -> ConnectCode:
    """Return ``reg``'s connect code, creating it on first use (after check-in only)."""
    if reg.status != "going" or reg.checked_in_at is None:
        raise CannotConnect(
            "not_checked_in", "Your connect code appears once you are checked in at the door."
        )
    code = db.session.scalar(select(ConnectCode).where(ConnectCode.registration_id == reg.id))
    if code is not None:
        return code
    # Two tabs opening the event page at once: the unique key keeps exactly one code.
    db.session.execute(
        insert_ignoring(ConnectCode.__table__, "registration_id").values(
            registration_id=reg.id, token=new_connect_token(), created_at=now
        )
    )
    db.session.commit()
    return db.session.scalar(select(ConnectCode).where(ConnectCode.registration_id == reg.id))


def connect_url(token: str) -> str:
    """The URL a connect code's QR holds: opening it shows that person's card."""
    return external_url("connect.card", token=token)


def resolve_code(token: str) -> Registration:
    """The registration behind a scanned connect code; ``DomainError`` if it is not one."""
    if not token or not TOKEN_RE.fullmatch(token):
        raise Invalid(
            "That is not an eventtrack connect code. Ask them to open their event page and "
            "show the code again.",
            code="malformed_code",
        )
    reg = db.session.scalar(
        select(Registration)
        .join(ConnectCode, ConnectCode.registration_id == Registration.id)
        .where(ConnectCode.token == token)
    )
    if reg is None:
        raise UnknownCode(
            "unknown_code",
            "We don't know this connect code. Ask them to open their event page and show "
            "the code again.",
        )
    return reg


# --- the rules for a pair ------------------------------------------------------------------


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
                Registration.status == "going",
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


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid(f"A note is at most {MAX_NOTE} characters.", field="note")
    return note


def _insert_pair(
    meeting: Meeting, one: int, two: int, how: str, by: int | None, now: datetime
) -> tuple[Connection, bool]:
    """Create the pair's row unless it exists; return (row, created). No commit."""
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


def _set_own_note(conn: Connection, author_id: int, note: str) -> None:
    # Only the author's own column is assigned, so only it is in the UPDATE.
    if conn.user_a_id == author_id:
        conn.note_a = note
    elif conn.user_b_id == author_id:
        conn.note_b = note
    else:  # pragma: no cover - callers pass a participant
        raise NotFound("connection")


# --- attendees -----------------------------------------------------------------------------


def record_connection(
    meeting: Meeting, scanner: User, other: User, how: str, note: str | None, now: datetime
) -> tuple[Connection, bool]:
    """Record that ``scanner`` met ``other`` at ``meeting``; return (connection, created).

    Symmetric and once per pair: a repeat (by either side) records nothing new and, if a note
    is given, replaces only the scanner's own note. An empty note never erases one.
    """
    if how not in ATTENDEE_HOWS:
        raise Invalid(f"Unknown way of meeting {how!r}.", field="how")
    note = _clean_note(note)
    check_pair(meeting, scanner, other, now)
    conn, created = _insert_pair(meeting, scanner.id, other.id, how, scanner.id, now)
    if note:
        _set_own_note(conn, scanner.id, note)
    db.session.commit()
    return conn, created


def record_scan(token: str, scanner: User, note: str | None, now: datetime):
    """Record a "We met" from a scanned connect code; return (connection, created, other)."""
    reg = resolve_code(token)
    conn, created = record_connection(reg.meeting, scanner, reg.user, "scan", note, now)
    return conn, created, reg.user


def _mine(connection_id: int, user: User) -> Connection:
    conn = db.session.scalar(
        select(Connection).where(
            Connection.id == connection_id,
            or_(Connection.user_a_id == user.id, Connection.user_b_id == user.id),
        )
    )
    if conn is None:
        raise NotFound("connection")
    return conn


def set_note(connection_id: int, author: User, note: str | None) -> Connection:
    """Replace ``author``'s own note on one of their connections (any time, also later)."""
    note = _clean_note(note)
    conn = _mine(connection_id, author)
    _set_own_note(conn, author.id, note)
    db.session.commit()
    return conn


def delete_connection(connection_id: int, actor: User) -> int:
    """Delete a connection recorded by mistake, for both sides; either participant may.

    Returns the meeting id. Deleting what the other side deleted a moment ago is no error.
    """
    meeting_id = _mine(connection_id, actor).meeting_id
    db.session.execute(
        delete(Connection).where(
            Connection.id == connection_id,
            or_(Connection.user_a_id == actor.id, Connection.user_b_id == actor.id),
        )
    )
    db.session.commit()
    return meeting_id


def contact_of(owner: User, viewer: User) -> Contact | None:
    """``owner``'s email and phone for ``viewer``: only if they met and ``owner`` consents now."""
    if not owner.share_contact or owner.id == viewer.id:
        return None
    a, b = sorted((owner.id, viewer.id))
    met = db.session.scalar(
        select(Connection.id).where(Connection.user_a_id == a, Connection.user_b_id == b).limit(1)
    )
    return Contact(owner.email, owner.phone) if met is not None else None


def met_at(meeting: Meeting, viewer: User) -> list[Met]:
    """The people ``viewer`` met at ``meeting``, newest first, with ``viewer``'s notes only."""
    conns = db.session.scalars(
        select(Connection)
        .options(joinedload(Connection.user_a), joinedload(Connection.user_b))
        .where(
            Connection.meeting_id == meeting.id,
            or_(Connection.user_a_id == viewer.id, Connection.user_b_id == viewer.id),
        )
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
                contact=Contact(other.email, other.phone) if other.share_contact else None,
            )
        )
    return met


def met_ids(meeting: Meeting, viewer: User) -> set[int]:
    """Ids of the people ``viewer`` met at ``meeting``."""
    rows = db.session.execute(
        select(Connection.user_a_id, Connection.user_b_id).where(
            Connection.meeting_id == meeting.id,
            or_(Connection.user_a_id == viewer.id, Connection.user_b_id == viewer.id),
        )
    )
    return {b if a == viewer.id else a for a, b in rows}


def people_here(meeting: Meeting, viewer: User, query: str = "") -> list[Here]:
    """Everyone checked in at ``meeting`` but ``viewer``, optionally filtered by ``query``.

    Only people who are checked in themselves may see who else is here.
    """
    if attending(meeting, viewer) is None:
        raise CannotConnect(
            "not_checked_in",
            f"You are not checked in at “{meeting.title}”. Check in at the door to see who "
            "is here.",
        )
    stmt = (
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status == "going",
            Registration.checked_in_at.is_not(None),
            User.id != viewer.id,
        )
        .order_by(func.lower(User.name), User.id)
    )
    query = (query or "").strip()[:MAX_QUERY].lower()
    if query:
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).contains(query, autoescape=True)
                    for column in (User.name, User.company, User.headline)
                )
            )
        )
    already = met_ids(meeting, viewer)
    return [Here(person=u, met=u.id in already) for u in db.session.scalars(stmt)]


def newcomer_ids(meeting: Meeting) -> set[int]:
    """People checked in at ``meeting`` who never checked in at an earlier meeting of its group."""
    earlier = (
        select(Registration.user_id)
        .join(Meeting, Meeting.id == Registration.meeting_id)
        .where(
            Meeting.group_id == meeting.group_id,
            Meeting.starts_at < meeting.starts_at,
            Registration.checked_in_at.is_not(None),
        )
    )
    return set(
        db.session.scalars(
            select(Registration.user_id).where(
                Registration.meeting_id == meeting.id,
                Registration.status == "going",
                Registration.checked_in_at.is_not(None),
                Registration.user_id.not_in(earlier),
            )
        )
    )


# --- organisers and integrations -----------------------------------------------------------


def record_by_organiser(
    meeting: Meeting,
    organiser: User,
    registration_a: int,
    registration_b: int,
    now: datetime,
    how: str = "organiser_round",
) -> tuple[Connection, bool]:
    """Record a pair given by registration ids (API); both checked in at ``meeting``."""
    if how not in ("scan", "list", "organiser_round"):
        raise Invalid(f"Unknown way of meeting {how!r}.", field="how")
    regs = []
    for name, reg_id in (("a", registration_a), ("b", registration_b)):
        reg = db.session.get(Registration, reg_id)
        if reg is None or reg.meeting_id != meeting.id:
            raise Invalid(
                f"Registration {reg_id} is not a registration of this meeting.",
                field=name,
                code="not_this_meeting",
            )
        if reg.status != "going" or reg.checked_in_at is None:
            raise CannotConnect(
                "not_checked_in", f"{reg.user.name} (registration {reg_id}) is not checked in."
            )
        regs.append(reg)
    if regs[0].user_id == regs[1].user_id:
        raise Invalid("a and b are the same registration.", field="b", code="same_person")
    conn, created = _insert_pair(meeting, regs[0].user_id, regs[1].user_id, how, organiser.id, now)
    db.session.commit()
    return conn, created


def _norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def import_rounds(meeting: Meeting, organiser: User, text: str, now: datetime) -> RoundsResult:
    """Record speed-networking tables from ``round,table,name-or-email`` rows; all or nothing.

    Every pair of people at one table in one round becomes a connection (how =
    ``organiser_round``). Every bad row is reported with its line number and nothing is
    recorded, so the organiser fixes the list and sends it again; sending it twice is harmless.
    """
    result = RoundsResult()
    regs = list(
        db.session.scalars(
            select(Registration)
            .options(joinedload(Registration.user))
            .where(Registration.meeting_id == meeting.id, Registration.status != "cancelled")
        )
    )
    by_email = {r.user.email: r for r in regs}
    by_name: dict[str, list[Registration]] = {}
    for r in regs:
        by_name.setdefault(_norm_name(r.user.name), []).append(r)

    seats: dict[tuple[str, str], list[int]] = {}
    seated: dict[tuple[str, int], str] = {}
    rows = 0
    for lineno, row in enumerate(csv.reader(io.StringIO((text or "").lstrip("\ufeff"))), 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if lineno == 1 and cells[0].lower() == "round":
            continue  # header
        rows += 1
        if len(cells) < 3 or not all(cells[:3]):
            result.errors.append(f"Line {lineno}: expected round,table,name (or email).")
            continue
        round_, table, who = cells[0], cells[1], cells[2]
        if "@" in who:
            reg = by_email.get(who.lower())
            if reg is None:
                result.errors.append(
                    f"Line {lineno}: nobody with the email {who} is registered for this meeting."
                )
                continue
        else:
            found = by_name.get(_norm_name(who), [])
            if not found:
                result.errors.append(
                    f"Line {lineno}: nobody called {who!r} is registered for this meeting."
                )
                continue
            if len(found) > 1:
                result.errors.append(
                    f"Line {lineno}: {len(found)} people are called {who!r}; use their email."
                )
                continue
            reg = found[0]
        if reg.status != "going" or reg.checked_in_at is None:
            result.errors.append(f"Line {lineno}: {reg.user.name} is not checked in.")
            continue
        place = seated.setdefault((round_, reg.user_id), table)
        if place != table:
            result.errors.append(
                f"Line {lineno}: {reg.user.name} is already at table {place} in round {round_}."
            )
            continue
        people = seats.setdefault((round_, table), [])
        if reg.user_id not in people:
            people.append(reg.user_id)
    if rows > MAX_ROUND_ROWS:
        result.errors.append(f"At most {MAX_ROUND_ROWS} rows at once; this list has {rows}.")
    if not rows and not result.errors:
        result.errors.append("No rows of round,table,name found.")
    if result.errors:
        return result
    for people in seats.values():
        result.tables += 1
        for one, two in combinations(people, 2):
            _, created = _insert_pair(meeting, one, two, "organiser_round", organiser.id, now)
            result.created += created
            result.existing += not created
    db.session.commit()
    return result


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
    by_how = {"scan": 0, "list": 0, "organiser_round": 0}
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
