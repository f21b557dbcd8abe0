"""Registrations: going / waitlist / cancelled, each with its own QR pass."""

import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..links import external_url
from ..models import Meeting, Membership, Registration, User
from . import outbox
from .errors import Invalid, NotFound


def new_pass_token() -> str:
    """144 random bits, URL-safe: opaque, unguessable, nothing personal."""
    return secrets.token_urlsafe(18)


def pass_url(registration: Registration) -> str:
    return external_url("attendee.pass_page", token=registration.pass_token)


def by_pass_token(token: str) -> Registration | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Registration).where(Registration.pass_token == token))


def _going_count(meeting: Meeting) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Registration.meeting_id == meeting.id, Registration.status == "going"
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
        return "waitlist"
    return "going"


def _queue_pass_mail(reg: Registration, now: datetime, reason: str) -> None:
    meeting, user = reg.meeting, reg.user
    text, html = outbox.render_mail(
        "pass",
        registration=reg,
        meeting=meeting,
        user=user,
        reason=reason,
        pass_url=pass_url(reg),
        ics_url=external_url("attendee.pass_ics", token=reg.pass_token),
    )
    subject = {
        "going": f"Your pass: {meeting.title}",
        "waitlist": f"Waitlist: {meeting.title}",
    }[reg.status]
    if reason == "promoted":
        subject = f"A place opened up: {meeting.title}"
    outbox.enqueue(
        kind="pass",
        # One mail per registration state change: re-registering after a cancel mails again.
        dedup_key=f"pass:{reg.id}:{reg.status}:{reg.status_changed_at.timestamp():.6f}",
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        meeting_id=meeting.id,
        subject=subject,
        body_text=text,
        body_html=html,
        now=now,
    )


def register(meeting: Meeting, user: User, now: datetime) -> tuple[Registration, bool]:
    """Register ``user`` (going, or waitlist when full); idempotent. Returns (reg, changed)."""
    if meeting.status == "cancelled":
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
        raise Invalid(f"{user.name} is not a member of this group.", field="user")
    lock_meeting(meeting)
    reg = db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.user_id == user.id
        )
    )
    if reg is not None and reg.status != "cancelled":
        db.session.commit()
        return reg, False
    if reg is None:
        try:
            with db.session.begin_nested():
                reg = Registration(
                    meeting_id=meeting.id,
                    user_id=user.id,
                    pass_token=new_pass_token(),
                    status=status_for_new(meeting),
                    created_at=now,
                    status_changed_at=now,
                )
                db.session.add(reg)
        except IntegrityError:
            # A concurrent request registered them first: the unique key decided, keep theirs.
            reg = db.session.scalar(
                select(Registration).where(
                    Registration.meeting_id == meeting.id, Registration.user_id == user.id
                )
            )
            db.session.commit()
            return reg, False
    else:
        reg.status = status_for_new(meeting)
        reg.status_changed_at = now
    db.session.flush()
    _queue_pass_mail(reg, now, "registered")
    db.session.commit()
    return reg, True


def cancel(reg: Registration, now: datetime) -> Registration | None:
    """Cancel ``reg``; if it held a place, promote the first on the waitlist (returned)."""
    if reg.status == "cancelled":
        return None
    lock_meeting(reg.meeting)
    held_place = reg.status == "going"
    reg.status = "cancelled"
    reg.status_changed_at = now
    promoted = fill_from_waitlist(reg.meeting, now) if held_place else []
    db.session.commit()
    return promoted[0] if promoted else None


def fill_from_waitlist(meeting: Meeting, now: datetime) -> list[Registration]:
    """Give free places to the waitlist, first come first served, and mail each their pass.

    The caller holds ``lock_meeting`` and commits.
    """
    if meeting.ends_at <= now or meeting.status != "scheduled":
        return []
    free = None if meeting.capacity is None else meeting.capacity - _going_count(meeting)
    if free is not None and free <= 0:
        return []
    waiting = select(Registration).where(
        Registration.meeting_id == meeting.id, Registration.status == "waitlist"
    )
    waiting = waiting.order_by(Registration.status_changed_at, Registration.id).limit(free)
    promoted = list(db.session.scalars(waiting))
    for reg in promoted:
        reg.status = "going"
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


def set_status(reg: Registration, status: str, now: datetime) -> Registration:
    """Member RSVP change: 'going' (or waitlist when full) or 'cancelled'."""
    if status == "cancelled":
        cancel(reg, now)
    elif status == "going":
        register(reg.meeting, reg.user, now)
    else:
        raise Invalid(f"Unknown status {status!r}.", field="status")
    return reg


def for_meeting(meeting: Meeting) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .join(User, User.id == Registration.user_id)
            .where(Registration.meeting_id == meeting.id)
            .order_by(Registration.status, func.lower(User.name))
        )
    )


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
