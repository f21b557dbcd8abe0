"""Groups and their members, including CSV import.

Adding an address reveals nothing of the account behind it and tells its owner: see
``services.members`` for what organisers see and for the notice mail.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from ..database import insert_ignoring
from ..extensions import db
from ..models import Group, Membership, User, utcnow
from ..models.vocabularies import Role
from . import members
from .accounts import get_or_create_user, normalise_email
from .errors import Invalid, require_fits

MAX_IMPORT_ROWS = 5000


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"Unknown timezone {name!r}.", field="timezone") from exc
    return name


def timezone_choices() -> list[str]:
    return sorted(available_timezones())


def create_group(owner: User, name: str, description: str = "", timezone: str = "UTC") -> Group:
    """Create a group with ``owner`` as its first organiser."""
    name = require_fits(name, Group.name, "The group's name", field="name")
    if not name:
        raise Invalid("Give the group a name.", field="name")
    group = Group(
        name=name,
        description=require_fits(
            description, Group.description, "The description", field="description"
        ),
        default_timezone=check_timezone(timezone),
    )
    # The owner is taking part by creating it: their co-organisers see their own name.
    group.memberships.append(
        Membership(user=owner, role=Role.ORGANISER, typed_name=owner.name, engaged_at=utcnow())
    )
    db.session.add(group)
    db.session.flush()
    return group


def _ensure_membership(
    group: Group, user: User, typed_name: str, now: datetime
) -> tuple[Membership, bool]:
    """The membership of ``user`` in ``group``, inserted if missing (``insert_ignoring``): the
    unique key decides between concurrent adds, inside the caller's transaction."""
    table = Membership.__table__
    inserted = db.session.execute(
        insert_ignoring(table, "group_id", "user_id")
        .values(
            group_id=group.id,
            user_id=user.id,
            role=Role.MEMBER,
            typed_name=typed_name,
            joined_at=now,
        )
        .returning(table.c.id)
    ).scalar()
    membership = db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    return membership, inserted is not None


def _typed(name: str, email: str, company: str) -> tuple[str, str, str]:
    """What the organiser typed, checked: too long is refused, never cut."""
    email = normalise_email(email)
    name = require_fits(name, Membership.typed_name, "Name", field="name")
    company = require_fits(company, User.company, "Company", field="company")
    return name or email.split("@")[0], email, company


def add_member(
    group: Group,
    name: str,
    email: str,
    company: str = "",
    *,
    added_by: User | None = None,
    now: datetime | None = None,
) -> tuple[Membership, bool]:
    """Add a member by email (idempotent): return the membership and whether it is new.

    The organiser's ``name`` is kept on the membership; an existing account keeps its own
    name and profile, and the group's organisers see only what they typed until the person
    takes part (``services.members``). With ``added_by`` (the organiser), a new membership
    queues the notice mail in the caller's transaction.
    """
    name, email, company = _typed(name, email, company)
    now = now or utcnow()
    user, _ = get_or_create_user(email, name, company=company)
    membership, created = _ensure_membership(group, user, name, now)
    if created and added_by is not None:
        members.queue_notice(membership, added_by, now)
    return membership, created


@dataclass
class ImportResult:
    added: int = 0
    existing: int = 0
    errors: list[str] = field(default_factory=list)


def import_members_csv(
    group: Group, text: str, *, added_by: User | None = None, now: datetime | None = None
) -> ImportResult:
    """Import ``name,email[,company]`` rows; all or nothing.

    Every bad row is reported with its line number and nothing is imported, so the organiser
    fixes the file and uploads it again without wondering which half went in. A row that fails
    later, while adding, raises: the caller's transaction (``atomic``) takes back the rows
    before it, their mail included.
    """
    result = ImportResult()
    rows = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for lineno, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if lineno == 1 and len(cells) >= 2 and cells[1].lower() in ("email", "e-mail"):
            continue  # header row
        if len(cells) < 2:
            result.errors.append(f"Line {lineno}: expected name,email[,company].")
            continue
        try:
            email = normalise_email(cells[1])
        except Invalid:
            result.errors.append(f"Line {lineno}: {cells[1]!r} is not a valid email address.")
            continue
        try:
            name, email, company = _typed(cells[0], email, cells[2] if len(cells) > 2 else "")
        except Invalid as exc:
            result.errors.append(f"Line {lineno}: {exc.message}")
            continue
        rows.append((name, email, company))
    if len(rows) > MAX_IMPORT_ROWS:
        result.errors.append(f"At most {MAX_IMPORT_ROWS} rows per file; this one has {len(rows)}.")
    if not rows and not result.errors:
        result.errors.append("The file has no rows of name,email[,company].")
    if result.errors:
        return result
    now = now or utcnow()
    for name, email, company in rows:
        _, created = add_member(group, name, email, company, added_by=added_by, now=now)
        if created:
            result.added += 1
        else:
            result.existing += 1
    return result
