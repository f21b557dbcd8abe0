"""Check-in at the door. Every way in ends here: an organiser scanning a pass, the kiosk and the
poster (self check-in), the manual list, walk-ins and the API.

Exactly-once is the database's job: a check-in is ``UPDATE registrations SET checked_in_at = …
WHERE id = … AND checked_in_at IS NULL`` — of any number of concurrent attempts one updates a
row, the others read the winner's time. Each attempt is also a ``CheckinEvent`` row; a client
nonce is unique there, so a retried request rolls back its whole transaction and answers what
the first one answered.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import and_, bindparam, case, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, contains_eager, joinedload

from ..database import DriverStatement, DriverTransaction
from ..extensions import db
from ..models import Meeting, Registration, User
from ..models.checkin import CheckinEvent
from . import access, accounts, groups, registrations
from .errors import DomainError, Invalid, UnknownActor
from .registrations import new_pass_token

CHECKED_IN = "checked_in"
ALREADY_CHECKED_IN = "already_checked_in"
INVALID = "invalid"
NOT_THIS_MEETING = "not_this_meeting"
CANCELLED = "cancelled"
NOT_OPEN = "not_open"
UNDONE = "undone"
NOT_CHECKED_IN = "not_checked_in"

HTTP_STATUS = {
    CHECKED_IN: 201,
    ALREADY_CHECKED_IN: 200,
    INVALID: 404,
    NOT_THIS_MEETING: 409,
    CANCELLED: 409,
    NOT_OPEN: 409,
    UNDONE: 200,
    NOT_CHECKED_IN: 409,
}
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass
class CheckinResult:
    """The answer to one attempt: a status (never an exception) and what the door needs."""

    status: str
    message: str
    registration_id: int | None = None
    name: str = ""
    checked_in_at: datetime | None = None
    first_time: bool = False
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.status in (CHECKED_IN, ALREADY_CHECKED_IN)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.status]


def extract_token(code: str) -> str:
    """The pass token in what a scanner read: a bare token or a pass URL ending ``/p/<token>``.

    Returns "" when ``code`` cannot be a pass (wrong shape, another URL): that is ``invalid``.
    """
    code = (code or "").strip()
    if len(code) > 2000:
        return ""
    if "/" in code:
        head, _, code = urlsplit(code).path.rstrip("/").rpartition("/")
        if not head.endswith("/p") and head != "/p":
            return ""
    return code if TOKEN_RE.fullmatch(code) else ""


def _clean_nonce(nonce: str | None) -> str | None:
    if not nonce:
        return None
    if not NONCE_RE.fullmatch(nonce):
        raise Invalid("A nonce is 8 to 64 letters, digits, '-' or '_'.", field="nonce")
    return nonce


def _hhmm(meeting: Meeting, when: datetime) -> str:
    return meeting.local(when).strftime("%H:%M")


# Built once: constructing aliases per call costs more than the query they serve.
_OtherRegistration = aliased(Registration, name="other_registration")
_OtherMeeting = aliased(Meeting, name="other_meeting")


def attended_before(meeting_id, group_id, user_id):
    """SQL: ``user_id`` was checked in at another meeting of the group ``group_id``."""
    other, other_meeting = _OtherRegistration, _OtherMeeting
    return exists().where(
        other.user_id == user_id,
        other.meeting_id != meeting_id,
        other.checked_in_at.is_not(None),
        other_meeting.id == other.meeting_id,
        other_meeting.group_id == group_id,
    )


def is_first_time(meeting: Meeting, user_id: int) -> bool:
    """Is ``meeting`` the first meeting of its group that this member attends?"""
    return not db.session.scalar(select(attended_before(meeting.id, meeting.group_id, user_id)))


# Every attempt's row, on the hot path of every scan: driver-level SQL (``DriverStatement``).
_INSERT_EVENT = DriverStatement(
    "INSERT INTO checkin_events"
    " (meeting_id, registration_id, action, status, how, actor_id, nonce, at)"
    " VALUES (:meeting_id, :registration_id, :action, :status, :how, :actor_id, :nonce, :at)",
    datetimes=("at",),
)


def _record(
    *,
    meeting_id: int | None,
    registration_id: int | None,
    status: str,
    how: str,
    actor_id: int | None,
    nonce: str | None,
    now: datetime,
    action: str = "checkin",
    on: DriverTransaction | None = None,
) -> None:
    _INSERT_EVENT.first(
        {
            "meeting_id": meeting_id,
            "registration_id": registration_id,
            "action": action,
            "status": status,
            "how": how,
            "actor_id": actor_id,
            "nonce": nonce,
            "at": now,
        },
        on,
    )


def _finish(
    result: CheckinResult, nonce: str | None, tx: DriverTransaction | None = None, **event
) -> CheckinResult:
    """Record the attempt and commit (``tx``, or else the session), or, if ``nonce`` was
    seen, undo it all and replay."""
    unit = tx or db.session
    try:
        _record(status=result.status, nonce=nonce, on=tx, **event)
        unit.commit()
    except IntegrityError:
        unit.rollback()  # ends ``tx`` too: the replay below reads through the session
        replayed = _replay(nonce, event.get("actor_id")) if nonce else None
        if replayed is None:
            raise
        return replayed
    return result


def _replay(nonce: str, actor_id: int | None) -> CheckinResult | None:
    """The answer first given to ``nonce``, or None if it was never seen.

    Only its own sender gets it back: anyone else reusing a nonce learns nothing (no name,
    no time) and changes nothing.
    """
    event = db.session.scalar(
        select(CheckinEvent)
        .options(joinedload(CheckinEvent.registration).joinedload(Registration.user))
        .where(CheckinEvent.nonce == nonce)
    )
    if event is None:
        return None
    if event.actor_id != actor_id:
        return CheckinResult(
            status=INVALID, message="This scan id was already used: scan again.", replayed=True
        )
    reg = event.registration
    result = CheckinResult(
        status=event.status,
        message=_message(event.status, reg, reg.meeting if reg else None),
        replayed=True,
    )
    if reg is not None:
        result.registration_id, result.name = reg.id, reg.user.name
        result.checked_in_at = reg.checked_in_at
        if event.status == CHECKED_IN:
            result.message = f"Checked in: {reg.user.name}"
    return result


def _message(status: str, reg: Registration | None, meeting: Meeting | None) -> str:
    name = reg.user.name if reg is not None else ""
    if status == CHECKED_IN:
        return f"Checked in: {name}"
    if status == ALREADY_CHECKED_IN and reg is not None and reg.checked_in_at is not None:
        return f"{name}: already checked in at {_hhmm(reg.meeting, reg.checked_in_at)}"
    if status == CANCELLED:
        if meeting is not None and meeting.status == "cancelled":
            return "This meeting is cancelled."
        return f"Registration cancelled: {name}" if name else "Registration cancelled."
    if status == NOT_OPEN and reg is not None and reg.status == "waitlist":
        return f"{name} is on the waitlist: no place yet."
    if status == NOT_OPEN and meeting is not None:
        return (
            f"Check-in is open {_hhmm(meeting, meeting.checkin_opens_at)}–"
            f"{_hhmm(meeting, meeting.checkin_closes_at)}, not now."
        )
    if status == NOT_THIS_MEETING:
        return "Not a pass for this meeting."
    if status == UNDONE:
        return f"Check-in undone: {name}"
    if status == NOT_CHECKED_IN:
        return f"{name} was not checked in."
    return {
        ALREADY_CHECKED_IN: f"{name}: already checked in",
        NOT_OPEN: "Check-in is not open.",
    }.get(status, "Unknown code: not a pass of this app.")


# The conditional UPDATE that decides every race, built once (it runs on every scan).
_CHECK_IN = (
    update(Registration.__table__)
    .where(
        Registration.id == bindparam("reg_id"),
        Registration.checked_in_at.is_(None),
        Registration.status.in_(bindparam("from_statuses", expanding=True)),
    )
    .values(
        checked_in_at=bindparam("at"),
        checked_in_by_id=bindparam("by_id"),
        checkin_how=bindparam("with_how"),
        status="going",
        status_changed_at=case(
            (Registration.status != "going", bindparam("at")),
            else_=Registration.status_changed_at,
        ),
        # What the place was given over, for an undo to put back (SET reads the old row).
        status_before_checkin=case(
            (Registration.status != "going", Registration.status), else_=None
        ),
        status_changed_before_checkin=case(
            (Registration.status != "going", Registration.status_changed_at), else_=None
        ),
    )
)

# Undo puts back what the check-in gave a place over (off the waitlist, a cancellation), and
# when: the person is where they were in the waitlist. Only if nothing has changed the status
# since: the check-in set ``status_changed_at`` to its own time, as any later change would not.
_RESTORED = and_(
    Registration.status == "going",
    Registration.status_before_checkin.is_not(None),
    Registration.status_changed_at == Registration.checked_in_at,
)
_CHECKED_IN_REG = and_(
    Registration.id == bindparam("reg_id"), Registration.checked_in_at.is_not(None)
)
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


def _attempt(
    reg: Registration,
    actor: User | None,
    now: datetime,
    how: str,
    nonce: str | None,
    *,
    enforce_window: bool,
    from_statuses: tuple[str, ...] = ("going",),
    first_time: bool | None = None,
) -> CheckinResult:
    """Check ``reg`` in if its state allows it; the conditional UPDATE decides races."""
    meeting = reg.meeting
    actor_id = actor.id if actor is not None else None
    result = CheckinResult(status=CHECKED_IN, message="", registration_id=reg.id)
    result.name = reg.user.name
    if meeting.status == "cancelled":
        result.status = CANCELLED
    elif reg.status not in from_statuses:
        result.status = CANCELLED if reg.status == "cancelled" else NOT_OPEN
    elif enforce_window and not meeting.checkin_opens_at <= now <= meeting.checkin_closes_at:
        result.status = NOT_OPEN
    else:
        changed = db.session.execute(
            _CHECK_IN,
            {
                "reg_id": reg.id,
                "from_statuses": list(from_statuses),
                "at": now,
                "by_id": actor_id,
                "with_how": how,
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
            f"{result.name}: already checked in at {_hhmm(meeting, result.checked_in_at)}"
        )
    else:
        result.message = _message(result.status, reg, meeting)
    return _finish(
        result,
        nonce,
        meeting_id=meeting.id,
        registration_id=reg.id,
        how=how,
        actor_id=actor_id,
        now=now,
    )


_BY_TOKEN = (
    select(
        Registration,
        ~attended_before(Registration.meeting_id, Meeting.group_id, Registration.user_id),
    )
    .join(Meeting, Meeting.id == Registration.meeting_id)
    .options(contains_eager(Registration.meeting), joinedload(Registration.user))
    .where(Registration.pass_token == bindparam("token"))
)


def _by_token(token: str) -> tuple[Registration | None, bool]:
    """The registration holding ``token`` and whether this is its holder's first meeting of
    the group, in one pre-built query (the hot path of every scan)."""
    row = db.session.execute(_BY_TOKEN, {"token": token}).first()
    return (row[0], bool(row[1])) if row else (None, False)


# The hot path of the door, in one statement: check in the pass's holder if the registration
# has a place and is not checked in, the meeting is open for check-in and the actor organises
# it, and return what the answer says (the name, and whether this is their first meeting of the
# group). Anything else (no such pass, already in, closed, not an organiser…) matches no row
# and takes the slow path below, which says exactly why. Driver-level SQL (see
# ``DriverStatement``): at the door this runs hundreds of times a second.
_FAST_CHECK_IN_SQL = f"""
UPDATE registrations
SET checked_in_at = :at, checked_in_by_id = :actor_id, checkin_how = :how
WHERE registrations.pass_token = :token
  AND registrations.checked_in_at IS NULL
  AND registrations.status = 'going'
  {{at_meeting}}
  AND EXISTS (
    SELECT 1 FROM meetings
    WHERE meetings.id = registrations.meeting_id
      AND meetings.status = 'scheduled'
      AND meetings.checkin_opens_at <= :at
      AND meetings.checkin_closes_at >= :at
      AND {access.organiser_of_sql("actor_id", "meetings.group_id")})
RETURNING registrations.id, registrations.meeting_id,
  (SELECT users.name FROM users WHERE users.id = registrations.user_id),
  NOT EXISTS (
    SELECT 1 FROM registrations AS earlier
    JOIN meetings AS earlier_meeting ON earlier_meeting.id = earlier.meeting_id
    JOIN meetings AS this_meeting ON this_meeting.group_id = earlier_meeting.group_id
    WHERE this_meeting.id = registrations.meeting_id
      AND earlier.user_id = registrations.user_id
      AND earlier.meeting_id != registrations.meeting_id
      AND earlier.checked_in_at IS NOT NULL)
"""  # noqa: S608 (constants only; the driver binds the parameters)
_FAST_CHECK_IN = DriverStatement(_FAST_CHECK_IN_SQL.format(at_meeting=""), datetimes=("at",))
_FAST_CHECK_IN_AT = DriverStatement(
    _FAST_CHECK_IN_SQL.format(at_meeting="AND registrations.meeting_id = :meeting_id"),
    datetimes=("at",),
)


def _fast_check_in(
    token: str, meeting_id: int | None, actor_id: int, now: datetime, how: str, nonce: str | None
) -> CheckinResult | None:
    """The common case: one UPDATE … RETURNING, the event row, the commit, in a
    ``DriverTransaction`` (on SQLite in the writers' queue). None when the pass cannot be
    checked in as it is; nothing has changed then, and that transaction is rolled back."""
    params = {"token": token, "at": now, "actor_id": actor_id, "how": how}
    if meeting_id is not None:
        params["meeting_id"] = meeting_id
    with DriverTransaction(writes=True) as tx:
        row = (_FAST_CHECK_IN if meeting_id is None else _FAST_CHECK_IN_AT).first(params, tx)
        if row is None:
            # Let go of the write lock the UPDATE took (SQLite) before the slow path reads.
            tx.rollback()
            return None
        reg_id, reg_meeting_id, name, first_time = row
        result = CheckinResult(
            status=CHECKED_IN,
            message=f"Checked in: {name}",
            registration_id=reg_id,
            name=name,
            checked_in_at=now,
            first_time=bool(first_time),
        )
        return _finish(
            result,
            nonce,
            tx,
            meeting_id=reg_meeting_id,
            registration_id=reg_id,
            how=how,
            actor_id=actor_id,
            now=now,
        )


def check_in(
    meeting_id: int | None,
    code: str,
    actor_id: int,
    now: datetime,
    how: str = "pass_scan",
    nonce: str | None = None,
) -> CheckinResult:
    """Check in the holder of the pass ``code`` (a token or a pass URL) at meeting
    ``meeting_id``, for the organiser ``actor_id``.

    Raises ``NotFound`` when ``actor_id`` does not organise ``meeting_id``, and
    ``UnknownActor`` when there is no such user. With ``meeting_id`` None the pass's own
    meeting is meant, and a pass of a meeting the actor does not organise is ``invalid``. It
    commits or rolls back its own transaction: call it with nothing pending in the session.
    """
    nonce = _clean_nonce(nonce)
    token = extract_token(code)
    if token:
        result = _fast_check_in(token, meeting_id, actor_id, now, how, nonce)
        if result is not None:
            return result
    actor = db.session.get(User, actor_id)
    if actor is None:
        raise UnknownActor()
    meeting = access.organised_meeting(actor, meeting_id) if meeting_id is not None else None
    reg, first_time = _by_token(token) if token else (None, False)
    if reg is not None and meeting is None and not access.is_organiser(actor, reg.meeting.group_id):
        reg = None
    if reg is None:
        result = CheckinResult(status=INVALID, message=_message(INVALID, None, None))
    elif meeting is not None and reg.meeting_id != meeting.id:
        result = CheckinResult(
            status=NOT_THIS_MEETING, message=_message(NOT_THIS_MEETING, None, None)
        )
        if access.is_organiser(actor, reg.meeting.group_id):
            other = reg.meeting
            result.message += (
                f" {reg.user.name}'s pass is for {other.title}, "
                f"{other.local(other.starts_at):%a %d %b}."
            )
    else:
        return _attempt(reg, actor, now, how, nonce, enforce_window=True, first_time=first_time)
    return _finish(
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
    return _attempt(
        reg,
        actor,
        now,
        "manual",
        _clean_nonce(nonce),
        enforce_window=False,
        from_statuses=("going", "waitlist"),
    )


def undo(reg: Registration, actor: User, now: datetime) -> CheckinResult:
    """Undo ``reg``'s check-in, and the place it gave if it gave one. The check-in's event row
    stays; the undo is a row of its own."""
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
        message=_message(status, reg, meeting),
        registration_id=reg.id,
        name=reg.user.name,
    )
    if undone and gives_back is not None:
        # The place is free again, and nobody waits while one is: the waitlist has it, in its
        # order (which may be this person's own place in it).
        kept = reg in registrations.fill_from_waitlist(meeting, now)
        if gives_back == "cancelled":
            result.message += " (registration cancelled again)."
        elif kept:
            result.message += " (still registered: a place is free)."
        else:
            result.message += " (back on the waitlist)."
    _record(
        meeting_id=reg.meeting_id,
        registration_id=reg.id,
        status=status,
        how="manual",
        actor_id=actor.id,
        nonce=None,
        now=now,
        action="undo",
    )
    db.session.commit()
    return result


def walk_in(
    meeting: Meeting,
    name: str,
    email: str,
    actor: User | None,
    now: datetime,
    *,
    company: str = "",
    how: str = "walk_in",
    nonce: str | None = None,
) -> CheckinResult:
    """Check in a person by name and email, making them a member and registering them if new.

    ``how`` is ``walk_in`` when an organiser adds them (any time, any registration state), or
    ``kiosk``/``poster`` when they type their own email at the door: then the check-in window
    applies, and a place ('going') or a free one lets them in, whatever their registration.
    """
    nonce = _clean_nonce(nonce)
    by_organiser = how == "walk_in"
    actor_id = actor.id if actor is not None else None
    if meeting.status == "cancelled" or (
        not by_organiser and not meeting.checkin_opens_at <= now <= meeting.checkin_closes_at
    ):
        status = CANCELLED if meeting.status == "cancelled" else NOT_OPEN
        return _finish(
            CheckinResult(status=status, message=_message(status, None, meeting)),
            nonce,
            meeting_id=meeting.id,
            registration_id=None,
            how=how,
            actor_id=actor_id,
            now=now,
        )
    if not (name or "").strip() and by_organiser:
        raise Invalid("Give the walk-in's name.", field="name")
    # An organiser adding a walk-in tells the person who added them (services.members); at
    # the kiosk the person is the one typing, and their check-in mail says so.
    membership, _ = groups.add_member(
        meeting.group,
        name,
        email,
        company,
        added_by=actor if by_organiser else None,
        now=now,
        commit=False,
    )
    user = membership.user
    registrations.lock_meeting(meeting)
    reg = db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.user_id == user.id
        )
    )
    if reg is None:
        # At the kiosk or poster a newcomer takes a free place or joins the waitlist; an
        # organiser adding a walk-in decides at the door and may go over capacity.
        full = not by_organiser and registrations.status_for_new(meeting) == "waitlist"
        try:
            with db.session.begin_nested():
                reg = Registration(
                    meeting_id=meeting.id,
                    user_id=user.id,
                    status="waitlist" if full else "going",
                    pass_token=new_pass_token(),
                    created_at=now,
                    status_changed_at=now,
                    checked_in_at=None if full else now,
                    checked_in_by_id=None if full else actor_id,
                    checkin_how=None if full else "walk_in",
                )
                db.session.add(reg)
        except IntegrityError:
            # Registered a moment ago by a concurrent request: check in that registration.
            reg = db.session.scalar(
                select(Registration).where(
                    Registration.meeting_id == meeting.id, Registration.user_id == user.id
                )
            )
        else:
            if full:
                result = CheckinResult(
                    status=NOT_OPEN,
                    message="The meeting is full: you are on the waitlist. Please see an "
                    "organiser at the door.",
                    registration_id=reg.id,
                    name=user.name,
                )
                return _finish(
                    result,
                    nonce,
                    meeting_id=meeting.id,
                    registration_id=reg.id,
                    how=how,
                    actor_id=actor_id,
                    now=now,
                )
            result = CheckinResult(
                status=CHECKED_IN,
                message=f"Checked in: {user.name}",
                registration_id=reg.id,
                name=user.name,
                checked_in_at=now,
                first_time=is_first_time(meeting, user.id),
            )
            return _finish(
                result,
                nonce,
                meeting_id=meeting.id,
                registration_id=reg.id,
                how="walk_in",
                actor_id=actor_id,
                now=now,
            )
    if by_organiser:
        return _attempt(
            reg,
            actor,
            now,
            "manual",
            nonce,
            enforce_window=False,
            from_statuses=("going", "waitlist", "cancelled"),
        )
    if reg.status != "going" and registrations.status_for_new(meeting) == "going":
        # A cancelled (or waitlisted) registration at the door is treated as a newcomer would
        # be: a free place lets them in. Refusing them while letting a stranger in would also
        # tell whoever typed the address that it has such a registration.
        return _attempt(
            reg,
            actor,
            now,
            how,
            nonce,
            enforce_window=True,
            from_statuses=("going", "waitlist", "cancelled"),
        )
    return _attempt(reg, actor, now, how, nonce, enforce_window=True)


def self_check_in(meeting: Meeting, user: User, now: datetime, how: str) -> CheckinResult | None:
    """A signed-in member who scanned the kiosk or poster: check in their registration.

    Returns None when they have no registration for ``meeting`` (they then give their email).
    """
    reg = db.session.scalar(
        select(Registration)
        .options(joinedload(Registration.meeting), joinedload(Registration.user))
        .where(Registration.meeting_id == meeting.id, Registration.user_id == user.id)
    )
    if reg is None:
        return None
    return _attempt(reg, user, now, how, None, enforce_window=True)


def self_check_in_by_email(
    meeting: Meeting,
    name: str,
    email: str,
    now: datetime,
    how: str,
    nonce: str | None = None,
    next_url: str = "",
) -> CheckinResult:
    """Someone at the door typed a name and an email: check that person in (a walk-in if new)
    and email them a sign-in link.

    Nobody is signed in here and nothing about the address's owner is returned to the caller
    beyond the status: whoever typed it may not be its owner.
    """
    email = accounts.normalise_email(email)
    if not (name or "").strip():
        raise Invalid("Tell us your name.", field="name")
    result = walk_in(meeting, name, email, None, now, how=how, nonce=nonce)
    if result.replayed:
        # A ticket (its nonce) checks in one person once: the same person again gets the same
        # answer; anyone else is turned away, learning nothing of who used it.
        reg = db.session.get(Registration, result.registration_id or 0)
        if reg is None or reg.user.email != email:
            raise DomainError(
                "ticket_used",
                "This form has been used already. Scan the code at the door again.",
            )
    elif result.ok:
        accounts.request_login_link(email, now, next_url)
    return result
