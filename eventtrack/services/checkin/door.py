"""Check-in by pass: an organiser scanning one at the door (the phone scanner, the one-tap
page, the API), and the manual list.

The common case is one driver-level statement (``fast_check_in``) compiled from the same rule
expressions (``services.rules``) and statuses as the full path (``attempt``): whatever the
full path would refuse, the fast statement matches no row for, and the full path then says
exactly why. A test runs every status through both.
"""

from datetime import datetime

from sqlalchemy import Integer, String, bindparam, exists, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from ...database import DriverStatement, DriverTransaction
from ...extensions import db
from ...models import Meeting, Registration, User
from ...models.checkin import CheckinEvent
from ...models.types import UTCDateTime
from ...models.vocabularies import CheckinAction, CheckinHow, RegistrationStatus
from .. import access, rules
from ..errors import UnknownActor
from .attempt import attempt, by_token, commit_attempt, require_nothing_unsaved
from .results import (
    CHECKED_IN,
    INVALID,
    NOT_THIS_MEETING,
    CheckinResult,
    clean_nonce,
    extract_token,
    message,
)

_AT = bindparam("at", type_=UTCDateTime())
_ACTOR = bindparam("actor_id", type_=Integer())
_HOW = bindparam("how", type_=String())


def _fast_statement(at_meeting: bool):
    """Check in the pass's holder if the registration has a place and is not present, the
    meeting may check in now and the actor organises it; return the registration, its
    meeting, the holder's name and whether this is their first meeting of the group."""
    where = [
        Registration.pass_token == bindparam("token"),
        ~rules.present(),
        Registration.status == RegistrationStatus.GOING,
        exists().where(
            Meeting.id == Registration.meeting_id,
            rules.may_check_in_now(_AT),
            rules.organiser_of(_ACTOR, Meeting.group_id),
        ),
    ]
    if at_meeting:
        where.append(Registration.meeting_id == bindparam("meeting_id"))
    return (
        update(Registration.__table__)
        .where(*where)
        .values(checked_in_at=_AT, checked_in_by_id=_ACTOR, checkin_how=_HOW)
        .returning(
            Registration.id,
            Registration.meeting_id,
            select(User.name)
            .where(User.id == Registration.user_id)
            .scalar_subquery()
            .label("name"),
            rules.first_time(Registration.user_id, Registration.meeting_id).label("first_time"),
        )
    )


def _recorded_statement(at_meeting: bool):
    """``_fast_statement`` and the attempt's event row (``attempt.record``) in one statement:
    PostgreSQL's DML in WITH, a transaction of its own in one round trip. A repeated nonce
    fails the whole statement: nothing changed, and the full path answers."""
    checked = _fast_statement(at_meeting).cte("checked")
    event = insert(CheckinEvent.__table__).from_select(
        ["meeting_id", "registration_id", "action", "status", "how", "actor_id", "nonce", "at"],
        select(
            checked.c.meeting_id,
            checked.c.id,
            literal(str(CheckinAction.CHECKIN), String()),
            literal(str(CHECKED_IN), String()),
            _HOW,
            _ACTOR,
            bindparam("nonce", type_=String()),
            _AT,
        ),
    )
    return select(checked.c.id, checked.c.meeting_id, checked.c.name, checked.c.first_time).add_cte(
        event.cte("event")
    )


# Driver-level (``DriverStatement``): at the door this runs hundreds of times a second.
FAST_CHECK_IN = DriverStatement.compiled(_fast_statement(at_meeting=False), datetimes=("at",))
FAST_CHECK_IN_AT = DriverStatement.compiled(_fast_statement(at_meeting=True), datetimes=("at",))
RECORDED_CHECK_IN = DriverStatement.compiled(
    _recorded_statement(at_meeting=False), datetimes=("at",)
)
RECORDED_CHECK_IN_AT = DriverStatement.compiled(
    _recorded_statement(at_meeting=True), datetimes=("at",)
)


def fast_check_in(
    token: str, meeting_id: int | None, actor_id: int, now: datetime, how: str, nonce: str | None
) -> CheckinResult | None:
    """The common case: one UPDATE … RETURNING, the event row, the commit, in a transaction
    of its own (``DriverTransaction.own``; on SQLite in the writers' queue; on PostgreSQL all
    of it one statement). None when the pass cannot be checked in as it is, or the nonce was
    seen; nothing has changed then."""
    params = {"token": token, "at": now, "actor_id": actor_id, "how": str(how)}
    if meeting_id is not None:
        params["meeting_id"] = meeting_id
    if db.engine.dialect.name == "postgresql":
        return _recorded_check_in({**params, "nonce": nonce}, meeting_id is None, now)
    with DriverTransaction.own(writes=True) as tx:
        row = (FAST_CHECK_IN if meeting_id is None else FAST_CHECK_IN_AT).first(params, tx)
        if row is None:
            # Let go of the write lock the UPDATE took (SQLite) before the full path reads.
            tx.rollback()
            return None
        reg_id, reg_meeting_id, name, first_time = row
        return commit_attempt(
            _checked_in(reg_id, name, first_time, now),
            nonce,
            tx,
            meeting_id=reg_meeting_id,
            registration_id=reg_id,
            how=how,
            actor_id=actor_id,
            now=now,
        )


def _recorded_check_in(params: dict, any_meeting: bool, now: datetime) -> CheckinResult | None:
    """``fast_check_in`` on PostgreSQL: the check-in and its event row, one statement."""
    statement = RECORDED_CHECK_IN if any_meeting else RECORDED_CHECK_IN_AT
    with DriverTransaction.single_statements() as tx:
        try:
            row = statement.first(params, tx)
        except IntegrityError:
            # A repeated nonce (or an actor deleted meanwhile): nothing was stored. The full
            # path finds the same and answers it (the first answer to the nonce).
            return None
    if row is None:
        return None
    reg_id, _, name, first_time = row
    return _checked_in(reg_id, name, first_time, now)


def _checked_in(reg_id: int, name: str, first_time, now: datetime) -> CheckinResult:
    return CheckinResult(
        status=CHECKED_IN,
        message=f"Checked in: {name}",
        registration_id=reg_id,
        name=name,
        checked_in_at=now,
        first_time=bool(first_time),
    )


def check_in(
    meeting_id: int | None,
    code: str,
    actor_id: int,
    now: datetime,
    how: str = CheckinHow.PASS_SCAN,
    nonce: str | None = None,
    *,
    fast: bool = True,
) -> CheckinResult:
    """Check in the holder of the pass ``code`` (a token or a pass URL) at meeting
    ``meeting_id``, for the organiser ``actor_id``: the door's scanner and the API both call
    this, and it is their whole transaction.

    Raises ``NotFound`` when ``actor_id`` does not organise ``meeting_id``, and
    ``UnknownActor`` when there is no such user. With ``meeting_id`` None the pass's own
    meeting is meant, and a pass of a meeting the actor does not organise is ``invalid``.
    ``fast=False`` skips the one-statement path (the parity test compares the two).
    """
    nonce = clean_nonce(nonce)
    token = extract_token(code)
    if token and fast:
        # DriverTransaction.own refuses a session holding unsaved changes: the same check.
        result = fast_check_in(token, meeting_id, actor_id, now, how, nonce)
        if result is not None:
            return result
    else:
        require_nothing_unsaved()
    actor = db.session.get(User, actor_id)
    if actor is None:
        raise UnknownActor()
    meeting = access.organised_meeting(actor, meeting_id) if meeting_id is not None else None
    reg, first_time = by_token(token) if token else (None, False)
    if reg is not None and meeting is None and not access.is_organiser(actor, reg.meeting.group_id):
        reg = None
    if reg is None:
        result = CheckinResult(status=INVALID, message=message(INVALID, None, None))
    elif meeting is not None and reg.meeting_id != meeting.id:
        result = CheckinResult(
            status=NOT_THIS_MEETING, message=message(NOT_THIS_MEETING, None, None)
        )
        if access.is_organiser(actor, reg.meeting.group_id):
            other = reg.meeting
            result.message += (
                f" {reg.user.name}'s pass is for {other.title}, "
                f"{other.local(other.starts_at):%a %d %b}."
            )
    else:
        return attempt(reg, actor, now, how, nonce, enforce_window=True, first_time=first_time)
    return commit_attempt(
        result,
        nonce,
        meeting_id=meeting_id,
        registration_id=None,
        how=how,
        actor_id=actor_id,
        now=now,
    )


def check_in_registration(
    reg: Registration, actor: User, now: datetime, nonce: str | None = None
) -> CheckinResult:
    """Manual check-in by an organiser (who has been checked to organise ``reg``'s meeting).

    The organiser at the door decides: outside the check-in window and off the waitlist too.
    """
    require_nothing_unsaved()
    return attempt(
        reg,
        actor,
        now,
        CheckinHow.MANUAL,
        clean_nonce(nonce),
        enforce_window=False,
        from_statuses=(RegistrationStatus.GOING, RegistrationStatus.WAITLIST),
    )
