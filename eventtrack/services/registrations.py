"""Registrations: going / waitlist / cancelled, each with its own QR pass."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import aliased

from ..database import insert_ignoring
from ..extensions import db
from ..links import external_url
from ..models import Meeting, Membership, OutboxMessage, Registration, User
from ..models.vocabularies import MailStatus, MeetingStatus, RegistrationStatus
from . import members, outbox
from .errors import Invalid, NotFound

GOING, WAITLIST, CANCELLED = (
    RegistrationStatus.GOING,
    RegistrationStatus.WAITLIST,
    RegistrationStatus.CANCELLED,
)


def new_pass_token() -> str:
    """144 random bits, URL-safe: opaque, unguessable, nothing personal."""
    return secrets.token_urlsafe(18)


def pass_url(registration: Registration) -> str:
    return external_url("attendee.pass_page", token=registration.pass_token)


def _going_count(meeting: Meeting) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Registration.meeting_id == meeting.id, Registration.status == GOING
        )
    )


def lock_meeting(meeting: Meeting) -> None:
    """Serialise capacity decisions for one meeting until the transaction ends.

    PostgreSQL: a row lock. SQLite: a no-op write, which takes the database's single write
    lock now, queueing behind other writers (busy_timeout), instead of reading first and then
    failing with "database is locked" when the read-then-write upgrade meets a newer commit.
    """
    if db.engine.dialect.name == "sqlite":
        table = Meeting.__table__
        db.session.execute(update(table).where(table.c.id == meeting.id).values(id=table.c.id))
    else:
        db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def status_for_new(meeting: Meeting) -> str:
    if meeting.capacity is not None and _going_count(meeting) >= meeting.capacity:
        return WAITLIST
    return GOING


def _queue_pass_mail(
    reg: Registration, now: datetime, reason: str, dedup_key: str | None = None
) -> bool:
    meeting, user = reg.meeting, reg.user
    subject = {
        GOING: f"Your pass: {meeting.title}",
        WAITLIST: f"Waitlist: {meeting.title}",
    }[reg.status]
    if reason == "promoted":
        subject = f"A place opened up: {meeting.title}"
    # One mail per registration state change: re-registering after a cancel mails again.
    dedup_key = dedup_key or f"pass:{reg.id}:{reg.status}:{reg.status_changed_at.timestamp():.6f}"
    return outbox.queue_mail(
        "pass",
        context={
            "registration": reg,
            "meeting": meeting,
            "user": user,
            "reason": reason,
            "pass_url": pass_url(reg),
            "ics_url": external_url("attendee.pass_ics", token=reg.pass_token),
        },
        kind="pass",
        dedup_key=dedup_key,
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        meeting_id=meeting.id,
        subject=subject,
        now=now,
    )


def register(
    meeting: Meeting, user: User, now: datetime, *, by_member: bool = False
) -> tuple[Registration, bool]:
    """Register ``user`` (going, or waitlist when full); idempotent. Returns (reg, changed).

    ``by_member``: the member's own RSVP. They take part, so from now on the group's
    organisers see their own name and profile (``services.members``).
    """
    if meeting.status == MeetingStatus.CANCELLED:
        raise Invalid("This meeting is cancelled.", code="cancelled")
    if meeting.ends_at <= now:
        raise Invalid("This meeting is over.", code="meeting_over")
    if (
        db.session.scalar(
            select(Membership.id).where(
                Membership.group_id == meeting.group_id, Membership.user_id == user.id
            )
        )
        is None
    ):
        # No name: the caller may be an organiser, who must not learn who holds an account.
        raise Invalid("Not a member of this meeting's group.", field="user")
    lock_meeting(meeting)
    if by_member:
        members.mark_engaged(meeting.group_id, user.id, now)
    reg = registration_for(meeting, user)
    if reg is not None and reg.status != CANCELLED:
        return reg, False
    if reg is None:
        # A concurrent request may register them first: the unique key decides, in this
        # transaction, and theirs is kept.
        inserted = db.session.execute(
            insert_ignoring(Registration.__table__, "meeting_id", "user_id").values(
                meeting_id=meeting.id,
                user_id=user.id,
                pass_token=new_pass_token(),
                status=status_for_new(meeting),
                created_at=now,
                status_changed_at=now,
            )
        ).rowcount
        reg = registration_for(meeting, user)
        if not inserted:
            return reg, False
    else:
        reg.status = status_for_new(meeting)
        reg.status_changed_at = now
        db.session.flush()
    _queue_pass_mail(reg, now, "registered")
    return reg, True


def register_many(meeting: Meeting, users: list[User], now: datetime) -> dict[str, int]:
    """Register each of ``users`` (an organiser's "register selected"): all of them or, if one
    cannot be registered, none (the caller's transaction is rolled back whole). Returns how
    many now have a place, are on the waitlist, and were registered already."""
    counts = {GOING: 0, WAITLIST: 0, "already": 0}
    for user in users:
        reg, changed = register(meeting, user, now)
        counts[reg.status if changed else "already"] += 1
    return counts


def cancel(reg: Registration, now: datetime) -> Registration | None:
    """Cancel ``reg``; if it held a place, promote the first on the waitlist (returned)."""
    if reg.status == CANCELLED:
        return None
    lock_meeting(reg.meeting)
    held_place = reg.status == GOING
    reg.status = CANCELLED
    reg.status_changed_at = now
    promoted = fill_from_waitlist(reg.meeting, now) if held_place else []
    return promoted[0] if promoted else None


def fill_from_waitlist(meeting: Meeting, now: datetime) -> list[Registration]:
    """Give free places to the waitlist, first come first served, and mail each their pass.

    The caller holds ``lock_meeting``.
    """
    if meeting.ends_at <= now or meeting.status != MeetingStatus.SCHEDULED:
        return []
    free = None if meeting.capacity is None else meeting.capacity - _going_count(meeting)
    if free is not None and free <= 0:
        return []
    waiting = select(Registration).where(
        Registration.meeting_id == meeting.id, Registration.status == WAITLIST
    )
    waiting = waiting.order_by(Registration.status_changed_at, Registration.id).limit(free)
    promoted = list(db.session.scalars(waiting))
    for reg in promoted:
        reg.status = GOING
        reg.status_changed_at = now
    db.session.flush()
    for reg in promoted:
        _queue_pass_mail(reg, now, "promoted")
    return promoted


def registration_for(meeting: Meeting, user: User) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.user_id == user.id
        )
    )


def resend_pass(reg: Registration, now: datetime) -> bool:
    """Queue the pass mail again (an organiser's button); False if one was resent this minute.

    The organiser never sees the pass: it goes to the member's inbox only. The dedup key
    holds the minute, so a nervous double click mails once.
    """
    if reg.status == CANCELLED:
        raise Invalid("This registration is cancelled: there is no pass to send.", code="cancelled")
    if reg.meeting.status == MeetingStatus.CANCELLED or reg.meeting.ends_at <= now:
        raise Invalid("This meeting is over or cancelled.", code="meeting_over")
    return _queue_pass_mail(reg, now, "resent", f"pass:{reg.id}:resend:{now:%Y%m%d%H%M}")


# What organisers see of the last pass mail: the outbox's four states in their words.
MAIL_STATES = {
    MailStatus.PENDING: "queued",
    MailStatus.SENDING: "queued",
    MailStatus.SENT: "sent",
    MailStatus.FAILED: "failed",
}


@dataclass(frozen=True)
class PassMail:
    state: str  # queued | sent | failed
    at: datetime
    error: str


@dataclass(frozen=True)
class RegistrationView:
    """A registration as the meeting's organisers see it: no pass token, the person as
    ``services.members`` lets them see them, and the state of the last pass mail."""

    id: int
    meeting_id: int
    user_id: int
    status: str
    checked_in_at: datetime | None
    checkin_how: str | None
    user: members.Person
    mail: PassMail | None


def for_organisers(meeting: Meeting, registration_id: int | None = None) -> list[RegistrationView]:
    """The meeting's registrations (or just ``registration_id``) for its organisers; one query
    with each one's last pass mail."""
    person, membership, on = members.people_columns(literal(meeting.group_id), User.id)
    last = (
        select(OutboxMessage.user_id, func.max(OutboxMessage.id).label("id"))
        .where(OutboxMessage.meeting_id == meeting.id, OutboxMessage.kind == "pass")
        .group_by(OutboxMessage.user_id)
        .subquery()
    )
    mail = aliased(OutboxMessage)
    stmt = (
        select(
            Registration.id,
            Registration.status,
            Registration.checked_in_at,
            Registration.checkin_how,
            *person,
            mail.status,
            func.coalesce(mail.sent_at, mail.created_at),
            mail.last_error,
        )
        .join(User, User.id == Registration.user_id)
        .outerjoin(membership, on)
        .outerjoin(last, last.c.user_id == Registration.user_id)
        .outerjoin(mail, mail.id == last.c.id)
        .where(Registration.meeting_id == meeting.id)
        .order_by(Registration.status, func.lower(person[1]), User.email)
    )
    if registration_id is not None:
        stmt = stmt.where(Registration.id == registration_id)
    views = []
    for row in db.session.execute(stmt):
        reg_id, status, checked_in_at, how = row[:4]
        who = members.person_of(row[4:9])
        mail_status, mail_at, error = row[9:]
        views.append(
            RegistrationView(
                id=reg_id,
                meeting_id=meeting.id,
                user_id=who.id,
                status=status,
                checked_in_at=checked_in_at,
                checkin_how=how,
                user=who,
                mail=None
                if mail_status is None
                else PassMail(MAIL_STATES[mail_status], mail_at, error or ""),
            )
        )
    return views


def of_user(user: User) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .join(Meeting)
            .where(Registration.user_id == user.id)
            .order_by(Meeting.starts_at.desc())
        )
    )


def get(registration_id: int) -> Registration:
    reg = db.session.get(Registration, registration_id)
    if reg is None:
        raise NotFound("registration")
    return reg
