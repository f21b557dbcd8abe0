"""Groups and their members, including CSV import.

Adding an address reveals nothing of the account behind it and tells its owner: see
``services.members`` for what organisers see and for the notice mail.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select, update

from ..database import insert_ignoring
from ..extensions import db
from ..models import Group, Membership, User, utcnow
from ..models.vocabularies import Role
from . import members
from .accounts import get_or_create_user, normalise_email
from .errors import DomainError, Invalid, NotFound, require_fits

MAX_IMPORT_ROWS = 5000


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"Unknown timezone {name!r}.", field="timezone") from exc
    return name


def timezone_choices() -> list[str]:
    return sorted(available_timezones())


def _checked(name: str, description: str, timezone: str) -> dict:
    name = require_fits(name, Group.name, "The group's name", field="name")
    if not name:
        raise Invalid("Give the group a name.", field="name")
    return {
        "name": name,
        "description": require_fits(
            description, Group.description, "The description", field="description"
        ),
        "default_timezone": check_timezone(timezone),
    }


def create_group(owner: User, name: str, description: str = "", timezone: str = "UTC") -> Group:
    """Create a group with ``owner`` as its first organiser."""
    group = Group(**_checked(name, description, timezone))
    # The owner is taking part by creating it: their co-organisers see their own name.
    group.memberships.append(
        Membership(user=owner, role=Role.ORGANISER, typed_name=owner.name, engaged_at=utcnow())
    )
    db.session.add(group)
    db.session.flush()
    return group


def _ensure_membership(
    group: Group, user: User, typed_name: str, typed_company: str, now: datetime
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
            typed_company=typed_company,
            joined_at=now,
            # Not taking part yet: the organisers see (and search) what they typed.
            search_key=members.search_key(typed_name, user.email, typed_company),
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

    The organiser's ``name`` and ``company`` are kept on the membership; an existing account
    keeps its own name and profile, and the group's organisers see only what they typed until
    the person takes part (``services.members``). With ``added_by`` (the organiser), a new
    membership queues the notice mail in the caller's transaction.
    """
    name, email, company = _typed(name, email, company)
    now = now or utcnow()
    user, _ = get_or_create_user(email, name, company=company)
    membership, created = _ensure_membership(group, user, name, company, now)
    if created and added_by is not None:
        members.queue_notice(membership, added_by, now)
    return membership, created


def update_group(group: Group, name: str, description: str, timezone: str) -> Group:
    """Change the group's name, description and the timezone its new meetings start in."""
    for attr, value in _checked(name, description, timezone).items():
        setattr(group, attr, value)
    db.session.flush()
    return group


def archive_group(group: Group, now: datetime) -> None:
    """Put the group away: off the organisers' everyday list, no new meetings, history kept."""
    if group.archived_at is None:
        group.archived_at = now
        db.session.flush()


def unarchive_group(group: Group) -> None:
    group.archived_at = None
    db.session.flush()


def require_active(group: Group) -> None:
    """Refuse to plan a meeting in an archived group (the meeting services call this)."""
    if group.archived_at is not None:
        raise DomainError(
            "archived",
            f"{group.name} is archived: it takes no new meetings. Un-archive it first.",
        )


# --- the organisers' changes to a member ------------------------------------------------


def membership_in(group: Group, user_id: int) -> Membership:
    """The membership of ``user_id`` in ``group`` (already checked to be the actor's), or
    ``NotFound``: a member of another group is missing here, not forbidden."""
    membership = db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("member")
    return membership


def edit_member(membership: Membership, name: str, company: str) -> None:
    """Change the name and company the organiser typed (shown until the person takes part);
    the account's own profile is the person's, never the organiser's to change."""
    name = require_fits(name, Membership.typed_name, "Name", field="name")
    if not name:
        raise Invalid("Give a name, as you would like to see it in the list.", field="name")
    membership.typed_name = name
    membership.typed_company = require_fits(
        company, Membership.typed_company, "Company", field="company"
    )
    db.session.flush()
    members.refresh_search_keys(Membership.id == membership.id)


def remove_member(membership: Membership) -> None:
    """Take the person out of the group. Their registrations, check-ins and connections stay,
    so past meetings keep their numbers. The last organiser cannot be removed."""
    if not members.delete_unless_last_organiser(membership):
        raise DomainError(
            "last_organiser",
            f"This is the only organiser of {membership.group.name}: make someone else an "
            "organiser first.",
        )


def set_role(membership: Membership, role: Role) -> None:
    """Give or take the organiser role; the last organiser keeps it (one conditional UPDATE)."""
    role = Role(role)
    if role == Role.ORGANISER:
        membership.role = role
        db.session.flush()
        return
    members.lock_organisers(membership.group_id)
    result = db.session.execute(
        update(Membership)
        .where(Membership.id == membership.id, members.other_organisers(membership))
        .values(role=role)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError(
            "last_organiser",
            f"This is the only organiser of {membership.group.name}, so the role stays: make "
            "someone else an organiser first.",
        )
    db.session.refresh(membership)


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
