"""Check-in without a pass: walk-ins an organiser adds, and people at the kiosk or poster who
type their email (or are signed in)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...database import insert_ignoring
from ...extensions import db
from ...models import Meeting, Registration, User
from ...models.vocabularies import CheckinHow, MeetingStatus, RegistrationStatus
from .. import accounts, groups, registrations, rules
from ..errors import DomainError, Invalid
from ..registrations import new_pass_token
from .attempt import attempt, commit_attempt, is_first_time, require_nothing_unsaved
from .results import CANCELLED, CHECKED_IN, NOT_OPEN, CheckinResult, clean_nonce, message

GOING, WAITLIST, CANCELLED_REG = (
    RegistrationStatus.GOING,
    RegistrationStatus.WAITLIST,
    RegistrationStatus.CANCELLED,
)
ANY_STATUS = (GOING, WAITLIST, CANCELLED_REG)


def walk_in(
    meeting: Meeting,
    name: str,
    email: str,
    actor: User | None,
    now: datetime,
    *,
    company: str = "",
    how: str = CheckinHow.WALK_IN,
    nonce: str | None = None,
    before_commit=None,
) -> CheckinResult:
    """Check in a person by name and email, making them a member and registering them if new:
    all of it one transaction, with the attempt.

    ``how`` is ``walk_in`` when an organiser adds them (any time, any registration state), or
    ``kiosk``/``poster`` when they type their own email at the door: then the check-in window
    applies, and a place ('going') or a free one lets them in, whatever their registration.
    ``before_commit(result)`` adds to that transaction.
    """
    require_nothing_unsaved()
    try:
        return _walk_in(meeting, name, email, actor, now, company, how, nonce, before_commit)
    except BaseException:
        db.session.rollback()  # the attempt's own transaction (see ``attempt``), all of it
        raise


def _walk_in(meeting, name, email, actor, now, company, how, nonce, before_commit):
    nonce = clean_nonce(nonce)
    by_organiser = how == CheckinHow.WALK_IN
    actor_id = actor.id if actor is not None else None
    finish = dict(before_commit=before_commit, meeting_id=meeting.id, actor_id=actor_id, now=now)
    if meeting.status == MeetingStatus.CANCELLED or (
        not by_organiser and not rules.check_in_open(meeting, now)
    ):
        status = CANCELLED if meeting.status == MeetingStatus.CANCELLED else NOT_OPEN
        return commit_attempt(
            CheckinResult(status=status, message=message(status, None, meeting)),
            nonce,
            registration_id=None,
            how=how,
            **finish,
        )
    if not (name or "").strip() and by_organiser:
        raise Invalid("Give the walk-in's name.", field="name")
    # An organiser adding a walk-in tells the person who added them (services.members); at
    # the kiosk the person is the one typing, and their check-in mail says so.
    membership, _ = groups.add_member(
        meeting.group, name, email, company, added_by=actor if by_organiser else None, now=now
    )
    user = membership.user
    registrations.lock_meeting(meeting)
    reg = registrations.registration_for(meeting, user)
    if reg is None:
        # At the kiosk or poster a newcomer takes a free place or joins the waitlist; an
        # organiser adding a walk-in decides at the door and may go over capacity.
        full = not by_organiser and registrations.status_for_new(meeting) == WAITLIST
        # A concurrent request may register them a moment earlier: then the insert does
        # nothing, and that registration is checked in below like any other.
        inserted = db.session.execute(
            insert_ignoring(Registration.__table__, "meeting_id", "user_id").values(
                meeting_id=meeting.id,
                user_id=user.id,
                status=WAITLIST if full else GOING,
                pass_token=new_pass_token(),
                created_at=now,
                status_changed_at=now,
                checked_in_at=None if full else now,
                checked_in_by_id=None if full else actor_id,
                checkin_how=None if full else CheckinHow.WALK_IN,
            )
        ).rowcount
        reg = registrations.registration_for(meeting, user)
        if inserted:
            if full:
                result = _waitlisted(meeting, reg, user)
                return commit_attempt(result, nonce, registration_id=reg.id, how=how, **finish)
            result = CheckinResult(
                status=CHECKED_IN,
                message=f"Checked in: {user.name}",
                registration_id=reg.id,
                name=user.name,
                checked_in_at=now,
                first_time=is_first_time(meeting, user.id),
            )
            return commit_attempt(
                result, nonce, registration_id=reg.id, how=CheckinHow.WALK_IN, **finish
            )
    if by_organiser:
        # Someone without a place (the kiosk put them on the waitlist when the meeting was
        # full) let in by an organiser is a walk-in, and the door counts them as one; someone
        # who had, or gave up, a registration of their own is checked in on it by hand.
        return attempt(
            reg,
            actor,
            now,
            CheckinHow.WALK_IN if reg.status == WAITLIST else CheckinHow.MANUAL,
            nonce,
            enforce_window=False,
            from_statuses=ANY_STATUS,
            before_commit=before_commit,
        )
    if reg.status != GOING and registrations.status_for_new(meeting) == GOING:
        # A cancelled (or waitlisted) registration at the door is treated as a newcomer would
        # be: a free place lets them in. Refusing them while letting a stranger in would also
        # tell whoever typed the address that it has such a registration.
        return attempt(
            reg,
            actor,
            now,
            how,
            nonce,
            enforce_window=True,
            from_statuses=ANY_STATUS,
            before_commit=before_commit,
        )
    if reg.status == WAITLIST:
        # Full, and already waiting: the same answer a newcomer gets when it puts them there.
        result = _waitlisted(meeting, reg, user)
        return commit_attempt(result, nonce, registration_id=reg.id, how=how, **finish)
    return attempt(reg, actor, now, how, nonce, enforce_window=True, before_commit=before_commit)


def _waitlisted(meeting: Meeting, reg: Registration, user: User) -> CheckinResult:
    """The answer at the kiosk or poster when the meeting is full: not checked in, on the
    waitlist, an organiser can still let them in (a walk-in)."""
    return CheckinResult(
        status=NOT_OPEN,
        message=f"{meeting.title} is full: you are on the waitlist. An organiser at the door "
        "can still let you in.",
        registration_id=reg.id,
        name=user.name,
        waitlisted=True,
    )


def self_check_in(meeting: Meeting, user: User, now: datetime, how: str) -> CheckinResult | None:
    """A signed-in member who scanned the kiosk or poster: check in their registration.

    Returns None when they have no registration for ``meeting`` (they then give their email).
    """
    require_nothing_unsaved()
    reg = db.session.scalar(
        select(Registration)
        .options(joinedload(Registration.meeting), joinedload(Registration.user))
        .where(Registration.meeting_id == meeting.id, Registration.user_id == user.id)
    )
    if reg is None:
        return None
    return attempt(reg, user, now, how, None, enforce_window=True)


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
    and email them a sign-in link, in the check-in's own transaction.

    Nobody is signed in here and nothing about the address's owner is returned to the caller
    beyond the status: whoever typed it may not be its owner.
    """
    email = accounts.normalise_email(email)
    if not (name or "").strip():
        raise Invalid("Tell us your name.", field="name")

    def sign_in_link(result: CheckinResult) -> None:
        if result.ok:
            accounts.request_login_link(email, now, next_url)

    result = walk_in(
        meeting, name, email, None, now, how=how, nonce=nonce, before_commit=sign_in_link
    )
    if result.replayed:
        # A ticket (its nonce) checks in one person once: the same person again gets the same
        # answer; anyone else is turned away, learning nothing of who used it.
        reg = db.session.get(Registration, result.registration_id or 0)
        if reg is None or reg.user.email != email:
            raise DomainError(
                "ticket_used",
                "This form has been used already. Scan the code at the door again.",
            )
        result.waitlisted = result.status == NOT_OPEN and reg.status == WAITLIST
    return result
