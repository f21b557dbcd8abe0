"""Undoing a check-in: the organiser tapped the wrong person."""

from datetime import datetime

from sqlalchemy import and_, bindparam, case, select, update

from ...extensions import db
from ...models import Registration, User
from ...models.vocabularies import CheckinAction, CheckinHow, RegistrationStatus
from .. import registrations, rules
from .attempt import record
from .results import NOT_CHECKED_IN, UNDONE, CheckinResult, message

# Undo puts back what the check-in gave a place over (off the waitlist, a cancellation), and
# when: the person is where they were in the waitlist. Only if nothing has changed the status
# since: the check-in set ``status_changed_at`` to its own time, as any later change would not.
_RESTORED = and_(
    Registration.status == RegistrationStatus.GOING,
    Registration.status_before_checkin.is_not(None),
    Registration.status_changed_at == Registration.checked_in_at,
)
_CHECKED_IN_REG = and_(Registration.id == bindparam("reg_id"), rules.present())
_UNDO_GIVES_BACK = select(case((_RESTORED, Registration.status_before_checkin), else_=None)).where(
    _CHECKED_IN_REG
)
_UNDO = (
    update(Registration.__table__)
    .where(_CHECKED_IN_REG)
    .values(
        checked_in_at=None,
        checked_in_by_id=None,
        checkin_how=None,
        status=case((_RESTORED, Registration.status_before_checkin), else_=Registration.status),
        status_changed_at=case(
            (_RESTORED, Registration.status_changed_before_checkin),
            else_=Registration.status_changed_at,
        ),
        status_before_checkin=None,
        status_changed_before_checkin=None,
    )
)


def undo(reg: Registration, actor: User, now: datetime) -> CheckinResult:
    """Undo ``reg``'s check-in, and the place it gave if it gave one. The check-in's event row
    stays; the undo is a row of its own. The caller commits (``transaction.atomic``)."""
    meeting = reg.meeting
    # Under the meeting's lock no RSVP change comes between what the undo will give back
    # (read to say so) and the undo, which decides.
    registrations.lock_meeting(meeting)
    gives_back = db.session.execute(_UNDO_GIVES_BACK, {"reg_id": reg.id}).scalar()
    undone = db.session.execute(_UNDO, {"reg_id": reg.id}).rowcount == 1
    db.session.expire(reg)  # written around the ORM
    status = UNDONE if undone else NOT_CHECKED_IN
    result = CheckinResult(
        status=status,
        message=message(status, reg, meeting),
        registration_id=reg.id,
        name=reg.user.name,
    )
    if undone and gives_back is not None:
        # The place is free again, and nobody waits while one is: the waitlist has it, in its
        # order (which may be this person's own place in it).
        kept = reg in registrations.fill_from_waitlist(meeting, now)
        if gives_back == RegistrationStatus.CANCELLED:
            result.message += " (registration cancelled again)."
        elif kept:
            result.message += " (still registered: a place is free)."
        else:
            result.message += " (back on the waitlist)."
    record(
        meeting_id=reg.meeting_id,
        registration_id=reg.id,
        status=status,
        how=CheckinHow.MANUAL,
        actor_id=actor.id,
        nonce=None,
        now=now,
        action=CheckinAction.UNDO,
    )
    return result
