"""Groups and their members, including CSV import."""

import csv
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Group, Membership, User
from .accounts import get_or_create_user, normalise_email
from .errors import Invalid

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
    name = (name or "").strip()
    if not name:
        raise Invalid("Give the group a name.", field="name")
    group = Group(
        name=name[:120],
        description=(description or "").strip(),
        default_timezone=check_timezone(timezone),
    )
    group.memberships.append(Membership(user=owner, role="organiser"))
    db.session.add(group)
    db.session.commit()
    return group


def _ensure_membership(group: Group, user: User, role: str = "member") -> tuple[Membership, bool]:
    existing = db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            membership = Membership(group_id=group.id, user_id=user.id, role=role)
            db.session.add(membership)
    except IntegrityError:
        return db.session.scalar(
            select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
        ), False
    return membership, True


def add_member(
    group: Group, name: str, email: str, company: str = "", *, commit: bool = True
) -> tuple[Membership, bool]:
    """Add a member by email (idempotent): return the membership and whether it is new.

    An existing account keeps its own name and profile: an organiser cannot overwrite them.
    """
    user, created_user = get_or_create_user(email, name, company=(company or "").strip()[:120])
    membership, created = _ensure_membership(group, user)
    if commit:
        db.session.commit()
    return membership, created


@dataclass
class ImportResult:
    added: int = 0
    existing: int = 0
    errors: list[str] = field(default_factory=list)


def import_members_csv(group: Group, text: str) -> ImportResult:
    """Import ``name,email[,company]`` rows; all or nothing.

    Every bad row is reported with its line number and nothing is imported, so the organiser
    fixes the file and uploads it again without wondering which half went in.
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
        rows.append((cells[0], email, cells[2] if len(cells) > 2 else ""))
    if len(rows) > MAX_IMPORT_ROWS:
        result.errors.append(f"At most {MAX_IMPORT_ROWS} rows per file; this one has {len(rows)}.")
    if not rows and not result.errors:
        result.errors.append("The file has no rows of name,email[,company].")
    if result.errors:
        return result
    for name, email, company in rows:
        _, created = add_member(group, name, email, company, commit=False)
        if created:
            result.added += 1
        else:
            result.existing += 1
    db.session.commit()
    return result


def members(group: Group) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.group_id == group.id)
            .order_by(func.lower(User.name))
        )
    )
