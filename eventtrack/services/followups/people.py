"""The people someone met at a meeting, as their follow-up list shows them: their own note,
their own follow-up state, and the other's details only where that person consents
(``User.share_contact``). Read in bulk for a whole meeting (the emails) or for one member."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from ...extensions import db
from ...models import Connection, Meeting, Registration, User
from ...models.followup import FollowUp
from ...models.vocabularies import FollowUpState
from ..errors import NotFound


@dataclass
class Person:
    """Someone I met, as I see them: my note, my follow-up state, their shared details."""

    user_id: int
    name: str
    headline: str
    company: str
    linkedin_url: str
    note: str
    shared: bool  # they consented to share email and phone with people they met
    email: str | None
    phone: str | None
    state: str = FollowUpState.TODO
    done_at: datetime | None = None
    snoozed_until: date | None = None
    promise: str = ""
    promise_due: date | None = None

    def is_open(self, today: date) -> bool:
        """Still to do: not done, and not snoozed past ``today``."""
        if self.state == FollowUpState.DONE:
            return False
        return not (
            self.state == FollowUpState.SNOOZED
            and self.snoozed_until
            and self.snoozed_until > today
        )


def local_today(meeting: Meeting, now: datetime) -> date:
    """``now``'s date where the meeting takes place."""
    return meeting.local(now).date()


def chunks(ids, size=500):
    """``ids`` in lists of at most ``size``: one ``IN (…)`` each."""
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def users_by_id(ids) -> dict[int, User]:
    users = {}
    for chunk in chunks(set(ids)):
        users.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(chunk)))})
    return users


def met_notes(meeting_id: int, owner_id: int | None) -> dict[int, list[tuple[int, str]]]:
    """``owner → [(other, owner's note)]`` for the meeting (or for one owner)."""
    q = select(Connection.user_a_id, Connection.user_b_id, Connection.note_a, Connection.note_b)
    q = q.where(Connection.meeting_id == meeting_id)
    if owner_id is not None:
        q = q.where(or_(Connection.user_a_id == owner_id, Connection.user_b_id == owner_id))
    met: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for a, b, note_a, note_b in db.session.execute(q):
        met[a].append((b, note_a))
        met[b].append((a, note_b))
    return met


def states_of(meeting_id: int, owner_id: int | None) -> dict[tuple[int, int], FollowUp]:
    """``(owner, other) → follow-up row`` for the meeting (or for one owner)."""
    q = select(FollowUp).where(FollowUp.meeting_id == meeting_id)
    if owner_id is not None:
        q = q.where(FollowUp.owner_id == owner_id)
    return {(f.owner_id, f.other_id): f for f in db.session.scalars(q)}


def person_of(other: User, note: str, state: FollowUp | None) -> Person:
    shared = bool(other.share_contact)
    person = Person(
        user_id=other.id,
        name=other.name,
        headline=other.headline,
        company=other.company,
        linkedin_url=other.linkedin_url,
        note=note or "",
        shared=shared,
        email=other.email if shared else None,
        phone=(other.phone or None) if shared else None,
    )
    if state is not None:
        person.state, person.done_at = state.state, state.done_at
        person.snoozed_until, person.promise = state.snoozed_until, state.promise
        person.promise_due = state.promise_due
    return person


def attended(meeting: Meeting, user: User) -> Registration:
    """The member's registration at ``meeting``; NotFound if they have none (or it's not theirs)."""
    reg = db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.user_id == user.id
        )
    )
    if reg is None:
        raise NotFound("meeting")
    return reg
