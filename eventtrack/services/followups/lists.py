"""Each member's follow-up list for a meeting: the people they met, suggestions of people they
didn't get to meet, people out of sight, and their goal. Built in bulk for a whole meeting (the
follow-up emails) or for one member (the web page) by the same code, from a few queries."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from ...extensions import db
from ...models import Meeting, Registration, User
from ...models.followup import Goal
from ..connections import here
from .goals import goal_to_ask
from .out_of_sight import OutOfSight, out_of_sight_for
from .people import Person, attended, chunks, met_notes, person_of, states_of, users_by_id
from .ranking import Suggestion, SuggestionRanker


@dataclass
class FollowUpList:
    meeting: Meeting
    user: User
    people: list[Person] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    out_of_sight: list[OutOfSight] = field(default_factory=list)
    goal: Goal | None = None
    # The goal set at an earlier meeting, not yet answered: "Last time you said …: done?"
    previous_goal: Goal | None = None

    @property
    def shared(self) -> list[Person]:
        return [p for p in self.people if p.shared]

    def open_people(self, today: date) -> list[Person]:
        return [p for p in self.people if p.is_open(today)]


def build_lists(meeting: Meeting, owner_ids: list[int]) -> dict[int, FollowUpList]:
    """The follow-up lists of ``owner_ids`` for ``meeting``, from a few bulk queries."""
    single = owner_ids[0] if len(owner_ids) == 1 else None
    met = met_notes(meeting.id, single)
    states = states_of(meeting.id, single)
    attendees = list(
        db.session.scalars(
            select(Registration.user_id).where(Registration.meeting_id == meeting.id, here())
        )
    )
    users = users_by_id(
        set(owner_ids) | set(attendees) | {o for pairs in met.values() for o, _ in pairs}
    )
    # Suggested: people here who consent to being suggested (the same consent as sharing).
    ranker = SuggestionRanker([users[i] for i in attendees if users[i].share_contact])
    sight = out_of_sight_for(meeting, owner_ids if single is None else [single])
    goals = {
        g.user_id: g
        for chunk in chunks(owner_ids)
        for g in db.session.scalars(
            select(Goal).where(Goal.meeting_id == meeting.id, Goal.user_id.in_(chunk))
        )
    }
    lists = {}
    for owner_id in owner_ids:
        owner = users[owner_id]
        people = [
            person_of(users[other], note, states.get((owner_id, other)))
            for other, note in met.get(owner_id, [])
        ]
        people.sort(key=lambda p: p.name.lower())
        met_ids = {p.user_id for p in people} | {owner_id}
        lists[owner_id] = FollowUpList(
            meeting=meeting,
            user=owner,
            people=people,
            suggestions=ranker.best_for(owner, exclude=met_ids),
            out_of_sight=sight.get(owner_id, []),
            goal=goals.get(owner_id),
        )
    return lists


def followup_list(meeting: Meeting, user: User) -> FollowUpList:
    """``user``'s follow-up list for ``meeting`` (they must have been registered)."""
    attended(meeting, user)
    lst = build_lists(meeting, [user.id])[user.id]
    lst.previous_goal = goal_to_ask(meeting, user)
    return lst
