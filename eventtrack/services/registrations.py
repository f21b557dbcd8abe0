"""Registrations: going / waitlist / cancelled, each with its own QR pass."""

import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from ..database import insert_ignoring
from ..extensions import db
from ..links import external_url
from ..models import Meeting, Membership, Registration, User
from ..models.vocabularies import MeetingStatus, RegistrationStatus
from . import members, outbox, registration_views
from .errors import Invalid, NotFound

# The organiser's views of registrations live in ``registration_views``; the API knows this one
# by its older name.
for_organisers = registration_views.for_organisers

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


def _pass_mail(reg: Registration, reason: str, dedup_key: str | None = None) -> tuple[dict, dict]:
    """The pass mail of ``reg``: its template context and its outbox keywords."""
    meeting, user = reg.meeting, reg.user
    subject = {
        GOING: f"Your pass: {meeting.title}",
        WAITLIST: f"Waitlist: {meeting.title}",
    }[reg.status]
    if reason == "promoted":
        subject = f"A place opened up: {meeting.title}"
    # One mail per registration state change: re-registering after a cancel mails again.
    dedup_key = dedup_key or f"pass:{reg.id}:{reg.status}:{reg.status_changed_at.timestamp():.6f}"
    context = {
        "registration": reg,
        "meeting": meeting,
        "user": user,
        "reason": reason,
        "pass_url": pass_url(reg),
        "ics_url": external_url("attendee.pass_ics", token=reg.pass_token),
    }
    message = dict(
        kind="pass",
        dedup_key=dedup_key,
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        meeting_id=meeting.id,
        subject=subject,
    )
    return context, message


def _queue_pass_mail(
    reg: Registration, now: datetime, reason: str, dedup_key: str | None = None
) -> bool:
    context, message = _pass_mail(reg, reason, dedup_key)
    return outbox.queue_mail("pass", context=context, now=now, **message)


def register(
    meeting: Meeting, user: User, now: datetime, *, by_member: bool = False
) -> tuple[Registration, bool]:
    """Register ``user`` (going, or waitlist when full); idempotent. Returns (reg, changed).

    ``by_member``: the member's own RSVP. They take part, so from now on the group's
    organisers see their own name and profile (``services.members``).
    """
    _check_open(meeting, now)
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


def register_everyone(meeting: Meeting, now: datetime) -> dict[str, int]:
    """Register every member of the group not registered yet (one organiser action), as
    ``register_many`` would: places to the oldest members first, the rest on the waitlist,
    each with their pass mail; all of them or, if anything fails, none.

    The registrations are written set-based (one executemany, one UPDATE per status), and so
    are the pass mails (``outbox.queue_many``): queued one ``queue_mail`` at a time, 5,000
    members took 10.7-21 s on a loaded box (SQLite and PostgreSQL), ~60 % of it the
    per-message INSERT and ~25 % the rendering; batched, 3.8 s (SQLite) / 4.5 s (PostgreSQL).
    """
    _check_open(meeting, now)
    lock_meeting(meeting)
    user_ids = registration_views.unregistered_ids(meeting)
    counts = {GOING: 0, WAITLIST: 0, "already": 0}
    if not user_ids:
        return counts
    free = None if meeting.capacity is None else max(0, meeting.capacity - _going_count(meeting))
    status_of = {
        uid: GOING if free is None or i < free else WAITLIST for i, uid in enumerate(user_ids)
    }
    cancelled = dict(
        db.session.execute(
            select(Registration.user_id, Registration.id).where(
                Registration.meeting_id == meeting.id, Registration.status == CANCELLED
            )
        ).all()
    )
    table = Registration.__table__
    fresh = [uid for uid in user_ids if uid not in cancelled]
    if fresh:
        # Concurrent RSVPs: the unique key keeps theirs, and they are not mailed twice below.
        db.session.execute(
            insert_ignoring(table, "meeting_id", "user_id"),
            [
                dict(
                    meeting_id=meeting.id,
                    user_id=uid,
                    pass_token=new_pass_token(),
                    status=status_of[uid],
                    created_at=now,
                    status_changed_at=now,
                )
                for uid in fresh
            ],
        )
    for status in (GOING, WAITLIST):
        again = [
            cancelled[uid] for uid in user_ids if uid in cancelled and status_of[uid] == status
        ]
        for chunk in _chunks(again):
            db.session.execute(
                update(table)
                .where(table.c.id.in_(chunk), table.c.status == CANCELLED)
                .values(status=status, status_changed_at=now)
            )
    db.session.expire_all()
    for chunk in _chunks(user_ids):
        regs = db.session.scalars(
            select(Registration)
            .options(joinedload(Registration.user))
            .where(
                Registration.meeting_id == meeting.id,
                Registration.user_id.in_(chunk),
                Registration.status_changed_at == now,
                Registration.status != CANCELLED,
            )
        )
        items = []
        for reg in regs:
            items.append(_pass_mail(reg, "registered"))
            counts[reg.status] += 1
        outbox.queue_many("pass", items, now)
    counts["already"] = len(user_ids) - counts[GOING] - counts[WAITLIST]
    return counts


def _chunks(items: list, size: int = 500):
    # Bound every IN list: SQLite caps a statement's parameters.
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _check_open(meeting: Meeting, now: datetime) -> None:
    if meeting.status == MeetingStatus.CANCELLED:
        raise Invalid("This meeting is cancelled.", code="cancelled")
    if meeting.ends_at <= now:
        raise Invalid("This meeting is over.", code="meeting_over")


def cancel(
    reg: Registration, now: datetime, *, tell_member: bool = False, by_organiser: bool = False
) -> Registration | None:
    """Cancel ``reg``; if it held a place, promote the first on the waitlist (returned).

    ``tell_member``: the member cancelled themselves; a confirmation goes to their inbox, in
    this transaction. ``by_organiser``: an organiser cancelled it; the member is told so (while
    the meeting is still ahead), in this transaction."""
    if reg.status == CANCELLED:
        return None
    lock_meeting(reg.meeting)
    was = reg.status
    held_place = was == GOING
    reg.status = CANCELLED
    reg.status_changed_at = now
    promoted = fill_from_waitlist(reg.meeting, now) if held_place else []
    if tell_member or (by_organiser and organiser_cancel_is_mailed(reg.meeting, now)):
        _queue_cancelled_mail(reg, was, now, by_organiser=by_organiser)
    return promoted[0] if promoted else None


def organiser_cancel_is_mailed(meeting: Meeting, now: datetime) -> bool:
    """An organiser cancelling a place tells the member while the meeting is still ahead."""
    return meeting.ends_at > now


def _queue_cancelled_mail(reg: Registration, was: str, now: datetime, *, by_organiser) -> None:
    """Tell the member that their registration is cancelled. ``was``: going or waitlist."""
    meeting, user = reg.meeting, reg.user
    outbox.queue_mail(
        "registration_cancelled",
        context={
            "meeting": meeting,
            "user": user,
            "was": was,
            "by_organiser": by_organiser,
            "meeting_url": external_url("attendee.meeting", meeting_id=meeting.id),
        },
        kind="registration_cancelled",
        dedup_key=f"registration_cancelled:{reg.id}:{reg.status_changed_at.timestamp():.6f}",
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        meeting_id=meeting.id,
        subject=f"Cancelled: {meeting.title}",
        now=now,
    )


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
