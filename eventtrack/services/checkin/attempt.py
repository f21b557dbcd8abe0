"""One check-in attempt, whatever the way in: the conditional UPDATE that decides races, the
attempt's event row, and the attempt's transaction.

A check-in attempt is a transaction of its own, ended here in ``commit_attempt`` and nowhere
else: a repeated nonce must roll back the whole attempt and answer what the first one answered
(DESIGN.md), which only the attempt itself can do. Callers hold nothing unsaved when they call
one (checked: ``transaction.has_unsaved_changes``), and whatever the attempt changed (a walk-in's
membership, the kiosk's sign-in mail) is in that same transaction.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from ...database import DriverStatement, DriverTransaction
from ...extensions import db
from ...models import Meeting, Registration, User
from ...models.checkin import CheckinEvent
from ...models.vocabularies import CheckinAction, MeetingStatus, RegistrationStatus
from ...transaction import has_unsaved_changes
from .. import rules
from .results import (
    ALREADY_CHECKED_IN,
    CANCELLED,
    CHECKED_IN,
    INVALID,
    NOT_OPEN,
    CheckinResult,
    hhmm,
    message,
)

GOING = RegistrationStatus.GOING


def require_nothing_unsaved() -> None:
    """An attempt commits its own transaction: what a caller changed before it would be
    committed with it, unseen."""
    if has_unsaved_changes():
        raise RuntimeError("a check-in attempt is its own transaction: commit what is pending")


# Every attempt's row, on the hot path of every scan: driver-level SQL (``DriverStatement``).
_INSERT_EVENT = DriverStatement(
    "INSERT INTO checkin_events"
    " (meeting_id, registration_id, action, status, how, actor_id, nonce, at)"
    " VALUES (:meeting_id, :registration_id, :action, :status, :how, :actor_id, :nonce, :at)",
    datetimes=("at",),
)


def record(
    *,
    meeting_id: int | None,
    registration_id: int | None,
    status: str,
    how: str,
    actor_id: int | None,
    nonce: str | None,
    now: datetime,
    action: str = CheckinAction.CHECKIN,
    on: DriverTransaction | None = None,
) -> None:
    """The attempt's event row, in the transaction ``on`` or else the session's."""
    _INSERT_EVENT.first(
        {
            "meeting_id": meeting_id,
            "registration_id": registration_id,
            "action": str(action),
            "status": str(status),
            "how": str(how),
            "actor_id": actor_id,
            "nonce": nonce,
            "at": now,
        },
        on,
    )


def commit_attempt(
    result: CheckinResult,
    nonce: str | None,
    tx: DriverTransaction | None = None,
    *,
    before_commit: Callable[[CheckinResult], None] | None = None,
    **event,
) -> CheckinResult:
    """Record the attempt and commit it (``tx``, or else the session), or, if ``nonce`` was
    seen, undo it all and answer what the first attempt with it answered.

    ``before_commit(result)`` adds to the attempt's own transaction (the kiosk's sign-in mail).
    """
    unit = tx or db.session
    try:
        record(status=result.status, nonce=nonce, on=tx, **event)
        if before_commit is not None:
            before_commit(result)
        unit.commit()
    except IntegrityError:
        unit.rollback()  # ends ``tx`` too: the replay below reads through the session
        replayed = (
            _replay(nonce, event.get("actor_id"), event.get("registration_id")) if nonce else None
        )
        if replayed is None:
            raise
        return replayed
    except BaseException:
        unit.rollback()
        raise
    return result


def _replay(nonce: str, actor_id: int | None, registration_id: int | None) -> CheckinResult | None:
    """The answer first given to ``nonce``, or None if it was never seen.

    Only its own sender gets it back, for the same pass: anyone else reusing a nonce, or its
    sender reusing it for another pass (a door client's bug), learns nothing (no name, no time)
    and changes nothing — never "checked in" for a pass that was not.
    """
    event = db.session.scalar(
        select(CheckinEvent)
        .options(joinedload(CheckinEvent.registration).joinedload(Registration.user))
        .where(CheckinEvent.nonce == nonce)
    )
    if event is None:
        return None
    if event.actor_id != actor_id or event.registration_id != registration_id:
        return CheckinResult(
            status=INVALID, message="This scan id was already used: scan again.", replayed=True
        )
    reg = event.registration
    result = CheckinResult(
        status=event.status,
        message=message(event.status, reg, reg.meeting if reg else None),
        replayed=True,
    )
    if reg is not None:
        result.registration_id, result.name = reg.id, reg.user.name
        result.checked_in_at = reg.checked_in_at
        if event.status == CHECKED_IN:
            result.message = f"Checked in: {reg.user.name}"
    return result


# The conditional UPDATE that decides every race, built once (it runs on every scan).
_CHECK_IN = (
    update(Registration.__table__)
    .where(
        Registration.id == bindparam("reg_id"),
        ~rules.present(),
        Registration.status.in_(bindparam("from_statuses", expanding=True)),
    )
    .values(
        checked_in_at=bindparam("at"),
        checked_in_by_id=bindparam("by_id"),
        checkin_how=bindparam("with_how"),
        status=GOING,
        status_changed_at=case(
            (Registration.status != GOING, bindparam("at")),
            else_=Registration.status_changed_at,
        ),
        # What the place was given over, for an undo to put back (SET reads the old row).
        status_before_checkin=case((Registration.status != GOING, Registration.status), else_=None),
        status_changed_before_checkin=case(
            (Registration.status != GOING, Registration.status_changed_at), else_=None
        ),
    )
)


def attempt(
    reg: Registration,
    actor: User | None,
    now: datetime,
    how: str,
    nonce: str | None,
    *,
    enforce_window: bool,
    from_statuses: tuple[str, ...] = (GOING,),
    first_time: bool | None = None,
    before_commit: Callable[[CheckinResult], None] | None = None,
) -> CheckinResult:
    """Check ``reg`` in if its state allows it; the conditional UPDATE decides races."""
    meeting = reg.meeting
    actor_id = actor.id if actor is not None else None
    result = CheckinResult(status=CHECKED_IN, message="", registration_id=reg.id)
    result.name = reg.user.name
    if meeting.status == MeetingStatus.CANCELLED:
        result.status = CANCELLED
    elif reg.status not in from_statuses:
        result.status = CANCELLED if reg.status == RegistrationStatus.CANCELLED else NOT_OPEN
    elif enforce_window and not rules.check_in_open(meeting, now):
        result.status = NOT_OPEN
    else:
        changed = db.session.execute(
            _CHECK_IN,
            {
                "reg_id": reg.id,
                "from_statuses": [str(s) for s in from_statuses],
                "at": now,
                "by_id": actor_id,
                "with_how": str(how),
            },
        ).rowcount
        if changed == 1:
            result.checked_in_at = now
        else:
            # Someone else won (or the registration changed under us): read what is there now.
            state = db.session.execute(
                select(Registration.checked_in_at, Registration.status).where(
                    Registration.id == reg.id
                )
            ).one()
            result.checked_in_at = state.checked_in_at
            result.status = ALREADY_CHECKED_IN if state.checked_in_at else CANCELLED
        if first_time is None:
            first_time = is_first_time(meeting, reg.user_id)
        result.first_time = first_time
    if result.status == ALREADY_CHECKED_IN:
        result.message = (
            f"{result.name}: already checked in at {hhmm(meeting, result.checked_in_at)}"
        )
    else:
        result.message = message(result.status, reg, meeting)
    return commit_attempt(
        result,
        nonce,
        before_commit=before_commit,
        meeting_id=meeting.id,
        registration_id=reg.id,
        how=how,
        actor_id=actor_id,
        now=now,
    )


def is_first_time(meeting: Meeting, user_id: int) -> bool:
    """Is ``meeting`` the first meeting of its group this member attends (``rules``)?"""
    return bool(db.session.scalar(select(rules.first_time(user_id, meeting.id))))


_BY_TOKEN = (
    select(Registration, rules.first_time(Registration.user_id, Registration.meeting_id))
    .join(Meeting, Meeting.id == Registration.meeting_id)
    .options(contains_eager(Registration.meeting), joinedload(Registration.user))
    .where(Registration.pass_token == bindparam("token"))
)


def by_token(token: str) -> tuple[Registration | None, bool]:
    """The registration holding ``token`` and whether this is its holder's first meeting of
    the group, in one pre-built query (the hot path of every scan)."""
    row = db.session.execute(_BY_TOKEN, {"token": token}).first()
    return (row[0], bool(row[1])) if row else (None, False)
