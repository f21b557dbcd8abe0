"""Tracking a follow-up: each person I met is to do, done (dated) or snoozed until a date, with
what I promised them and by when. Only the owner ever sees these; a row exists once touched."""

from datetime import date, datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Connection, Meeting, User
from ...models.followup import FollowUp
from ...models.limits import max_length
from ...models.vocabularies import FollowUpState
from ..errors import Invalid, NotFound
from .people import local_today
from .upsert import upsert

PROMISE_MAX = max_length(FollowUp.promise)


def _connected(meeting: Meeting, owner: User, other_id: int) -> None:
    a, b = sorted((owner.id, other_id))
    found = db.session.scalar(
        select(Connection.id).where(
            Connection.meeting_id == meeting.id,
            Connection.user_a_id == a,
            Connection.user_b_id == b,
        )
    )
    if found is None:
        raise NotFound("person")


def _save(meeting: Meeting, owner: User, other_id: int, now: datetime, **values) -> FollowUp:
    """Create or change the owner's follow-up row of ``other_id``: only ``values`` change."""
    stmt = upsert(
        FollowUp, "meeting_id", "owner_id", "other_id", set_={**values, "updated_at": now}
    ).values(
        meeting_id=meeting.id,
        owner_id=owner.id,
        other_id=other_id,
        state=values.get("state", FollowUpState.TODO),
        done_at=values.get("done_at"),
        snoozed_until=values.get("snoozed_until"),
        promise=values.get("promise", ""),
        promise_due=values.get("promise_due"),
        updated_at=now,
    )
    return db.session.scalar(
        stmt.returning(FollowUp), execution_options={"populate_existing": True}
    )


def set_state(
    meeting: Meeting,
    owner: User,
    other_id: int,
    state: str,
    now: datetime,
    snoozed_until: date | None = None,
) -> None:
    """Mark a person I met as to do, done (dated now) or snoozed until a later date."""
    _connected(meeting, owner, other_id)
    if state == FollowUpState.DONE:
        values = dict(state=FollowUpState.DONE, done_at=now, snoozed_until=None)
    elif state == FollowUpState.TODO:
        values = dict(state=FollowUpState.TODO, done_at=None, snoozed_until=None)
    elif state == FollowUpState.SNOOZED:
        if snoozed_until is None or snoozed_until <= local_today(meeting, now):
            raise Invalid("Snooze until a date after today.", field="snoozed_until")
        values = dict(state=FollowUpState.SNOOZED, done_at=None, snoozed_until=snoozed_until)
    else:
        raise Invalid(f"Unknown follow-up state {state!r}.", field="state")
    _save(meeting, owner, other_id, now, **values)


def set_promise(
    meeting: Meeting, owner: User, other_id: int, promise: str, due: date | None, now: datetime
) -> None:
    """Record (or clear, with an empty text) what I promised this person, and by when."""
    _connected(meeting, owner, other_id)
    promise = " ".join((promise or "").split())
    if len(promise) > PROMISE_MAX:
        raise Invalid(f"Keep the promise under {PROMISE_MAX} characters.", field="promise")
    if due is not None and not promise:
        raise Invalid("Say what you promised before giving a due date.", field="promise")
    _save(meeting, owner, other_id, now, promise=promise, promise_due=due)
