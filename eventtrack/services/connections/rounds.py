"""Connections an organiser records: a pair by registration ids (the API), or the tables of a
speed-networking round from a ``round,table,name-or-email`` list (all or nothing)."""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Connection, Meeting, Registration, User
from ...models.vocabularies import ConnectionHow, RegistrationStatus
from ..errors import Invalid
from .errors import CannotConnect
from .presence import here
from .recording import insert_pair

MAX_ROUND_ROWS = 5000


@dataclass
class RoundsResult:
    created: int = 0
    existing: int = 0
    tables: int = 0
    errors: list[str] = field(default_factory=list)


def _with_here(*where):
    """(registration, is it here?) rows: the rule evaluated by the database, as everywhere."""
    return db.session.execute(
        select(Registration, here().label("here"))
        .options(joinedload(Registration.user))
        .where(*where)
    ).all()


def record_by_organiser(
    meeting: Meeting,
    organiser: User,
    registration_a: int,
    registration_b: int,
    now: datetime,
    how: str = ConnectionHow.ORGANISER_ROUND,
) -> tuple[Connection, bool]:
    """Record a pair given by registration ids (API); both checked in at ``meeting``."""
    if how not in tuple(ConnectionHow):
        raise Invalid(f"Unknown way of meeting {how!r}.", field="how")
    regs = []
    for name, reg_id in (("a", registration_a), ("b", registration_b)):
        found = _with_here(Registration.id == reg_id, Registration.meeting_id == meeting.id)
        if not found:
            raise Invalid(
                f"Registration {reg_id} is not a registration of this meeting.",
                field=name,
                code="not_this_meeting",
            )
        ((reg, is_here),) = found
        if not is_here:
            raise CannotConnect(
                "not_checked_in", f"{reg.user.name} (registration {reg_id}) is not checked in."
            )
        regs.append(reg)
    if regs[0].user_id == regs[1].user_id:
        raise Invalid("a and b are the same registration.", field="b", code="same_person")
    return insert_pair(meeting, regs[0].user_id, regs[1].user_id, how, organiser.id, now)


def _norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def import_rounds(meeting: Meeting, organiser: User, text: str, now: datetime) -> RoundsResult:
    """Record speed-networking tables from ``round,table,name-or-email`` rows; all or nothing.

    Every pair of people at one table in one round becomes a connection (how =
    ``organiser_round``). Every bad row is reported with its line number and nothing is
    recorded, so the organiser fixes the list and sends it again; sending it twice is harmless.
    """
    result = RoundsResult()
    rows_here = _with_here(
        Registration.meeting_id == meeting.id,
        Registration.status != RegistrationStatus.CANCELLED,
    )
    present = {reg.id for reg, is_here in rows_here if is_here}
    regs = [reg for reg, _ in rows_here]
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
        if reg.id not in present:
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
            _, created = insert_pair(
                meeting, one, two, ConnectionHow.ORGANISER_ROUND, organiser.id, now
            )
            result.created += created
            result.existing += not created
    return result
