"""What a group's organisers may see of a member, and the member's own say in it.

Adding an address to a group reveals nothing about the person behind it: until they take
part (RSVP themselves, check in at one of the group's meetings) or accept from the notice
mail, the group's organisers see what they typed (a name) and the address, never the account's
own name, company or profile. ``engaged`` is that rule, once, as a SQL expression; every
organiser-facing list reads people through ``visible_*`` / the views built here.

Organisers search members by ``memberships.search_key``, what they see of them folded, rewritten
wherever that changes (``refresh_search_keys``): one ``LIKE`` on both databases (``member_page``).

The notice mail (``queue_notice``) tells the person who added them to which group, with a
link to leave and one to show their profile; the links carry a signed token bound to the
membership, the user and their address, and are sent only to that inbox.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.orm import aliased

from ..extensions import db
from ..links import external_url
from ..models import Group, Meeting, Membership, Registration, User
from ..models.search import fold, like_pattern
from ..models.vocabularies import Role
from . import outbox, rules
from .errors import DomainError, NotFound

# The notice links work this long: long enough for someone back from holidays to leave.
NOTICE_LINK_DAYS = 90
_NOTICE_SALT = "group-membership-notice"


def engaged(group_id, user_id, membership=Membership):
    """SQL: the person ``user_id`` has taken part in the group ``group_id``.

    True when their membership (``membership``, joined on the pair) says so (``engaged_at``:
    an RSVP of their own, or they accepted), or when they are checked in at one of the
    group's meetings: derived here by EXISTS, so the check-in path writes nothing extra.
    """
    # Aliases: a query listing registrations or meetings must not correlate these to its own.
    reg, meeting = aliased(Registration), aliased(Meeting)
    checked_in = (
        select(reg.id)
        .join(meeting, meeting.id == reg.meeting_id)
        .where(
            reg.user_id == user_id,
            meeting.group_id == group_id,
            rules.present(reg),
        )
        .exists()
    )
    return or_(membership.engaged_at.is_not(None), checked_in)


def visible_name(group_id, user_id, membership=Membership):
    """SQL: the name the group's organisers may see: the account's once engaged, else typed."""
    return case(
        (engaged(group_id, user_id, membership), User.name),
        else_=func.coalesce(membership.typed_name, literal("")),
    )


def visible_company(group_id, user_id, membership=Membership):
    """SQL: the company the group's organisers may see: the account's once engaged, else the
    one they typed."""
    return case(
        (engaged(group_id, user_id, membership), User.company),
        else_=func.coalesce(membership.typed_company, literal("")),
    )


@dataclass(frozen=True)
class Person:
    """A person as a group's organisers see them (``name``, ``company`` may be typed / '')."""

    id: int
    name: str
    email: str
    company: str
    engaged: bool

    @property
    def label(self) -> str:
        """The name, or the address when the organiser typed no name."""
        return self.name or self.email


@dataclass(frozen=True)
class MemberView:
    """A membership as the group's organisers see it; ``user`` is a ``Person``."""

    id: int
    user_id: int
    role: str
    joined_at: datetime
    user: Person


def _person_columns(group_id, user_id, membership=Membership):
    return (
        User.id,
        visible_name(group_id, user_id, membership),
        User.email,
        visible_company(group_id, user_id, membership),
        engaged(group_id, user_id, membership),
    )


def person_of(row) -> Person:
    """The ``Person`` of the five columns ``people_columns`` gives, in a result row."""
    user_id, name, email, company, is_engaged = row
    return Person(user_id, name or "", email, company or "", bool(is_engaged))


def member_views(group: Group) -> list[MemberView]:
    """The group's members as its organisers see them, by visible name; one query."""
    name = visible_name(Membership.group_id, Membership.user_id)
    rows = db.session.execute(
        select(
            Membership.id,
            Membership.role,
            Membership.joined_at,
            *_person_columns(Membership.group_id, Membership.user_id),
        )
        .join(User, User.id == Membership.user_id)
        .where(Membership.group_id == group.id)
        .order_by(func.lower(name), User.email)
    )
    return [
        MemberView(id=r[0], user_id=r[3], role=r[1], joined_at=r[2], user=person_of(r[3:]))
        for r in rows
    ]


def member_view(membership: Membership) -> MemberView:
    """One membership as its group's organisers see it."""
    row = db.session.execute(
        select(*_person_columns(Membership.group_id, Membership.user_id))
        .join(User, User.id == Membership.user_id)
        .where(Membership.id == membership.id)
    ).one()
    return MemberView(
        id=membership.id,
        user_id=membership.user_id,
        role=membership.role,
        joined_at=membership.joined_at,
        user=person_of(row),
    )


def people_columns(group_id_column, user_id_column):
    """Columns (``Person`` fields, in order) of the person ``user_id_column`` as the organisers
    of ``group_id_column`` see them, for a query that joins ``User`` on that user and outer
    joins the returned membership alias: ``(columns, membership_alias, join_condition)``."""
    membership = aliased(Membership)
    on = and_(membership.group_id == group_id_column, membership.user_id == user_id_column)
    return _person_columns(group_id_column, user_id_column, membership), membership, on


def person(group_id: int, user_id: int) -> Person:
    """The person ``user_id`` as the organisers of ``group_id`` see them."""
    columns, membership, on = people_columns(literal(group_id), User.id)
    row = db.session.execute(
        select(*columns).outerjoin(membership, on).where(User.id == user_id)
    ).one()
    return person_of(row)


def mark_engaged(group_id: int, user_id: int, now: datetime) -> None:
    """Record that the person took part in the group (first time only), and so refresh what
    its organisers search them by: now their own name and company."""
    taking_part = db.session.execute(
        update(Membership)
        .where(
            Membership.group_id == group_id,
            Membership.user_id == user_id,
            Membership.engaged_at.is_(None),
        )
        .values(engaged_at=now)
    )
    if taking_part.rowcount:
        refresh_search_keys(Membership.group_id == group_id, Membership.user_id == user_id)


# --- searching and paging the member list ----------------------------------------------


def search_key(name: str | None, email: str, company: str | None) -> str:
    """The one definition of what organisers may search a member by: the name and company
    they see (``visible_name`` / ``visible_company``) and the email, folded."""
    return fold(name, email, company)


def refresh_search_keys(*where) -> None:
    """Rewrite the search key of the memberships matching ``where`` from what their groups'
    organisers see now: one read, one batched write."""
    visible = (
        visible_name(Membership.group_id, Membership.user_id),
        User.email,
        visible_company(Membership.group_id, Membership.user_id),
    )
    rows = db.session.execute(
        select(Membership.id, *visible).join(User, User.id == Membership.user_id).where(*where)
    ).all()
    if rows:
        db.session.execute(
            update(Membership),
            [{"id": r[0], "search_key": search_key(r[1], r[2], r[3])} for r in rows],
        )


MEMBERS_PER_PAGE = 50


@dataclass(frozen=True)
class MemberPage:
    """One page of a group's member list, as its organisers see it."""

    members: list[MemberView]
    query: str
    page: int
    pages: int
    matching: int  # members matching ``query`` (all of them without one)
    total: int  # members of the group
    per_page: int

    @property
    def first(self) -> int:
        """The positions of the page's first and ``last`` member (1-based; 0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.members else 0

    last = property(lambda self: self.first + len(self.members) - 1 if self.members else 0)


def member_page(
    group: Group, query: str = "", page: int = 1, per_page: int = MEMBERS_PER_PAGE
) -> MemberPage:
    """The members matching ``query`` (any part of name, email or company, whatever the case
    and accents), page ``page`` of them by name: three queries whatever the group's size."""
    query = " ".join((query or "").split())
    in_group = Membership.group_id == group.id
    matches = [in_group]
    if fold(query):
        matches.append(Membership.search_key.like(like_pattern(query), escape="\\"))
    total, matching = db.session.execute(
        select(func.count(), func.count(case((and_(*matches), 1)))).where(in_group)
    ).one()
    pages = max(1, -(-matching // per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        select(
            Membership.id,
            Membership.role,
            Membership.joined_at,
            *_person_columns(Membership.group_id, Membership.user_id),
        )
        .join(User, User.id == Membership.user_id)
        .where(*matches)
        .order_by(Membership.search_key, Membership.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    views = [
        MemberView(id=r[0], user_id=r[3], role=r[1], joined_at=r[2], user=person_of(r[3:]))
        for r in rows
    ]
    return MemberPage(views, query, page, pages, matching, total, per_page)


# --- the notice mail and its two links -------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_NOTICE_SALT)


def _instance(membership: Membership) -> str:
    """This membership and no later one: SQLite hands a deleted row's id to the next row, so
    a re-added member gets a new notice and old links do not act on the new membership."""
    return f"{membership.id}:{membership.joined_at.timestamp():.6f}"


def notice_token(membership: Membership) -> str:
    """A token for the notice links of ``membership``, for its member's inbox only."""
    user = membership.user
    return _serializer().dumps({"m": _instance(membership), "u": user.id, "e": user.email})


def membership_for_token(token: str) -> Membership:
    """The membership ``token`` was made for, or ``NotFound`` (bad, expired, out of date)."""
    try:
        data = _serializer().loads(token, max_age=NOTICE_LINK_DAYS * 24 * 3600)
    except BadSignature:  # SignatureExpired is one
        raise NotFound("membership") from None
    if not isinstance(data, dict):
        raise NotFound("membership")
    membership_id, _, _ = str(data.get("m")).partition(":")
    membership = db.session.get(Membership, int(membership_id)) if membership_id.isdigit() else None
    # Bound to the person and their address too: it stops working if the account changes
    # hands, and a re-added member's old links do not act on the new membership.
    if (
        membership is None
        or _instance(membership) != data.get("m")
        or membership.user_id != data.get("u")
        or membership.user.email != data.get("e")
    ):
        raise NotFound("membership")
    return membership


def queue_notice(membership: Membership, added_by: User, now: datetime) -> None:
    """Tell the member, in the caller's transaction, who added them to which group."""
    user, group = membership.user, membership.group
    token = notice_token(membership)
    outbox.queue_mail(
        "added_to_group",
        context={
            "organiser_name": added_by.name,
            "group": group,
            "typed_name": membership.typed_name,
            "leave_url": external_url("membership.show", token=token, action="leave"),
            "accept_url": external_url("membership.show", token=token, action="accept"),
            "days": NOTICE_LINK_DAYS,
        },
        kind="group_notice",
        dedup_key=f"group_notice:{_instance(membership)}",
        recipient=user.email,
        user_id=user.id,
        subject=f"{added_by.name} added you to {group.name} on eventtrack",
        now=now,
    )


def accept(membership: Membership, now: datetime) -> None:
    """The member shows their profile to the group's organisers."""
    mark_engaged(membership.group_id, membership.user_id, now)


def other_organisers(membership: Membership):
    """SQL: the group of ``membership`` has an organiser besides its member."""
    other = aliased(Membership)
    return (
        select(other.id)
        .where(
            other.group_id == membership.group_id,
            rules.organiser_membership(other),
            other.id != membership.id,
        )
        .exists()
    )


def lock_organisers(group_id: int) -> None:
    """Before a change that could leave a group without organisers (two organisers leaving, or
    taking each other's role, at once: each would still see the other): on PostgreSQL, lock
    the group's organiser rows, so the second change re-reads them after the first commits.
    SQLite has one writer at a time."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            select(Membership.id)
            .where(Membership.group_id == group_id, rules.organiser_membership())
            .with_for_update()
        )


def delete_unless_last_organiser(membership: Membership) -> bool:
    """Delete ``membership`` unless it is its group's last organiser; say whether it went.

    One conditional DELETE rather than a count read first. What the person did in the group
    (registrations, check-ins, connections) is theirs and stays: the meetings' numbers keep it.
    """
    if membership.role == Role.ORGANISER:
        lock_organisers(membership.group_id)
    result = db.session.execute(
        delete(Membership)
        .where(
            Membership.id == membership.id,
            or_(~rules.organiser_membership(), other_organisers(membership)),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.expunge(membership)
    return True


def leave(membership: Membership) -> None:
    """The member leaves the group; the last organiser cannot (the group would be orphaned)."""
    if not delete_unless_last_organiser(membership):
        raise DomainError(
            "last_organiser",
            f"You are the only organiser of {membership.group.name}, so you cannot leave it "
            "this way. Make someone else an organiser first, or ask us to close the group.",
        )
