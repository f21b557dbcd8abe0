"""After the meeting: each member's follow-up list, its emails, and tracking until next time.

The list is built in bulk for a whole meeting (the follow-up emails) or for one member (the web
page) by the same code, from a handful of queries. Contact details appear only for people who
consented (``User.share_contact``); the same consent is what makes someone a suggestion in
"people you didn't get to meet". Organisers only ever see counts.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Connection, Meeting, Membership, OutboxMessage, Registration, User
from ..models.followup import OUTCOMES, FollowUp, Goal
from ..models.limits import max_length
from . import suggestions
from .errors import Invalid, NotFound

RECENT_MEETINGS = 3  # "out of sight": not met at any of the group's last this-many meetings
SUGGESTIONS = 5
REMINDER_EVERY = timedelta(days=7)
PROMISE_MAX = max_length(FollowUp.promise)
GOAL_MAX = max_length(Goal.text)


# --- the list -----------------------------------------------------------------------------


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
    state: str = "todo"
    done_at: datetime | None = None
    snoozed_until: date | None = None
    promise: str = ""
    promise_due: date | None = None

    def is_open(self, today: date) -> bool:
        """Still to do: not done, and not snoozed past ``today``."""
        if self.state == "done":
            return False
        return not (self.state == "snoozed" and self.snoozed_until and self.snoozed_until > today)


@dataclass
class Suggestion:
    user_id: int
    name: str
    headline: str
    company: str
    score: float
    reasons: list[str]


@dataclass
class OutOfSight:
    user_id: int
    name: str
    headline: str
    company: str
    last_met: datetime
    last_meeting_title: str


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


def local_today(meeting: Meeting, now: datetime) -> date:
    return meeting.local(now).date()


def _chunks(ids, size=500):
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def users_by_id(ids) -> dict[int, User]:
    users = {}
    for chunk in _chunks(set(ids)):
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


def build_lists(meeting: Meeting, owner_ids: list[int]) -> dict[int, FollowUpList]:
    """The follow-up lists of ``owner_ids`` for ``meeting``, from a few bulk queries."""
    single = owner_ids[0] if len(owner_ids) == 1 else None
    met = met_notes(meeting.id, single)
    states = states_of(meeting.id, single)
    attendees = list(
        db.session.scalars(
            select(Registration.user_id).where(
                Registration.meeting_id == meeting.id,
                Registration.checked_in_at.is_not(None),
                Registration.status != "cancelled",
            )
        )
    )
    users = users_by_id(
        set(owner_ids) | set(attendees) | {o for pairs in met.values() for o, _ in pairs}
    )
    ranker = SuggestionRanker([users[i] for i in attendees if users[i].share_contact])
    sight = _out_of_sight(meeting, owner_ids if single is None else [single])
    goals = {
        g.user_id: g
        for chunk in _chunks(owner_ids)
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


def followup_list(meeting: Meeting, user: User) -> FollowUpList:
    """``user``'s follow-up list for ``meeting`` (they must have been registered)."""
    attended(meeting, user)
    lst = build_lists(meeting, [user.id])[user.id]
    lst.previous_goal = goal_to_ask(meeting, user)
    return lst


# --- people you didn't get to meet ---------------------------------------------------------
# Scored and explained by services.suggestions, the one definition of "a good match"; the
# index here only narrows 2,000 attendees down to the few that can score at all.

SHORTLIST = 5  # candidates re-scored per suggestion shown: the tally only approximates score


class SuggestionRanker:
    """Ranks consenting attendees for each member; an index skips pairs that cannot score."""

    def __init__(self, candidates: list[User]):
        self.users = {u.id: u for u in candidates}
        self.people = {u.id: suggestions.person(u) for u in candidates}
        self.by_offer, self.by_ask, self.by_interest = (defaultdict(set) for _ in range(3))
        for u in candidates:
            for index, text in (
                (self.by_offer, u.offers),
                (self.by_ask, u.asks),
                (self.by_interest, u.interests),
            ):
                for word in suggestions.terms(text):
                    index[word].add(u.id)

    def best_for(self, me: User, exclude: set[int], limit: int = SUGGESTIONS) -> list[Suggestion]:
        # Only someone sharing a term can score above zero: tally those through the index.
        tally: Counter[int] = Counter()
        for text, index, weight in (
            (me.asks, self.by_offer, suggestions.ASK_WEIGHT),
            (me.offers, self.by_ask, suggestions.OFFER_WEIGHT),
            (me.interests, self.by_interest, suggestions.INTEREST_WEIGHT),
        ):
            for word in suggestions.terms(text):
                for uid in index.get(word, ()):
                    tally[uid] += weight
        for uid in exclude | {me.id}:
            tally.pop(uid, None)
        shortlist = [self.people[uid] for uid, _ in tally.most_common(limit * SHORTLIST)]
        best = []
        for s in suggestions.rank(suggestions.person(me), shortlist):
            if s.score <= 0 or len(best) == limit:
                break
            u = self.users[s.user_id]
            best.append(Suggestion(u.id, u.name, u.headline, u.company, s.score, s.why))
        return best


# --- out of sight ---------------------------------------------------------------------------


def _out_of_sight(meeting: Meeting, owner_ids: list[int]) -> dict[int, list[OutOfSight]]:
    """Members of the group each owner met before, but at none of the last few meetings."""
    past = list(
        db.session.execute(
            select(Meeting.id, Meeting.starts_at, Meeting.title)
            .where(
                Meeting.group_id == meeting.group_id,
                Meeting.status == "scheduled",
                Meeting.starts_at <= meeting.starts_at,
            )
            .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        )
    )
    recent = {m.id for m in past[:RECENT_MEETINGS]} | {meeting.id}
    earlier = {m.id: m for m in past if m.id not in recent}
    if not earlier or not owner_ids:
        return {}
    owners = set(owner_ids)

    def pairs(meeting_ids):
        q = select(Connection.meeting_id, Connection.user_a_id, Connection.user_b_id).where(
            Connection.meeting_id.in_(meeting_ids)
        )
        if len(owners) == 1:
            (only,) = owners
            q = q.where(or_(Connection.user_a_id == only, Connection.user_b_id == only))
        for meeting_id, a, b in db.session.execute(q):
            if a in owners:
                yield meeting_id, a, b
            if b in owners:
                yield meeting_id, b, a

    seen_recently = {(owner, other) for _, owner, other in pairs(list(recent))}
    last: dict[tuple[int, int], object] = {}
    for meeting_id, owner, other in pairs(list(earlier)):
        if (owner, other) in seen_recently:
            continue
        m = earlier[meeting_id]
        if (owner, other) not in last or last[(owner, other)].starts_at < m.starts_at:
            last[(owner, other)] = m
    others = {other for _, other in last}
    still_members = set(
        db.session.scalars(
            select(Membership.user_id).where(
                Membership.group_id == meeting.group_id, Membership.user_id.in_(others)
            )
        )
    )
    users = users_by_id(still_members)
    result: dict[int, list[OutOfSight]] = defaultdict(list)
    for (owner, other), m in last.items():
        if other in still_members:
            u = users[other]
            result[owner].append(
                OutOfSight(other, u.name, u.headline, u.company, m.starts_at, m.title)
            )
    for items in result.values():
        items.sort(key=lambda o: (o.last_met, o.name.lower()))
    return result


# --- follow-up state and promises --------------------------------------------------------


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


def _upsert_followup(meeting: Meeting, owner: User, other_id: int, now: datetime, **values):
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(FollowUp).values(
        meeting_id=meeting.id,
        owner_id=owner.id,
        other_id=other_id,
        state=values.get("state", "todo"),
        done_at=values.get("done_at"),
        snoozed_until=values.get("snoozed_until"),
        promise=values.get("promise", ""),
        promise_due=values.get("promise_due"),
        updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["meeting_id", "owner_id", "other_id"], set_={**values, "updated_at": now}
    )
    db.session.execute(stmt)
    db.session.commit()


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
    if state == "done":
        values = dict(state="done", done_at=now, snoozed_until=None)
    elif state == "todo":
        values = dict(state="todo", done_at=None, snoozed_until=None)
    elif state == "snoozed":
        if snoozed_until is None or snoozed_until <= local_today(meeting, now):
            raise Invalid("Snooze until a date after today.", field="snoozed_until")
        values = dict(state="snoozed", done_at=None, snoozed_until=snoozed_until)
    else:
        raise Invalid(f"Unknown follow-up state {state!r}.", field="state")
    _upsert_followup(meeting, owner, other_id, now, **values)


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
    _upsert_followup(meeting, owner, other_id, now, promise=promise, promise_due=due)


# --- goals ------------------------------------------------------------------------------


def set_goal(meeting: Meeting, user: User, text: str, now: datetime) -> Goal:
    """Set (or change) ``user``'s one goal for the weeks after ``meeting``."""
    reg = attended(meeting, user)
    if reg.status == "cancelled":
        raise Invalid("You are not registered for this meeting.", field="text")
    text = " ".join((text or "").split())
    if not text:
        raise Invalid("Write your goal in a few words.", field="text")
    if len(text) > GOAL_MAX:
        raise Invalid(f"Keep your goal under {GOAL_MAX} characters.", field="text")
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Goal).values(
        user_id=user.id, meeting_id=meeting.id, text=text, created_at=now, updated_at=now
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "meeting_id"], set_={"text": text, "updated_at": now}
        )
    )
    db.session.commit()
    return db.session.scalar(
        select(Goal).where(Goal.user_id == user.id, Goal.meeting_id == meeting.id)
    )


def goal_for(meeting: Meeting, user: User) -> Goal | None:
    return db.session.scalar(
        select(Goal).where(Goal.user_id == user.id, Goal.meeting_id == meeting.id)
    )


def goal_to_ask(meeting: Meeting, user: User) -> Goal | None:
    """The goal ``user`` set at an earlier meeting of this group and hasn't answered yet."""
    return db.session.scalar(
        select(Goal)
        .join(Meeting, Meeting.id == Goal.meeting_id)
        .where(
            Goal.user_id == user.id,
            Goal.outcome.is_(None),
            Meeting.group_id == meeting.group_id,
            Meeting.starts_at < meeting.starts_at,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )


def answer_goal(goal_id: int, user: User, outcome: str, at_meeting: Meeting, now: datetime):
    """Record how the goal went ("Last time you said …: done?"); the first answer counts."""
    if outcome not in OUTCOMES:
        raise Invalid(f"Answer one of {', '.join(OUTCOMES)}.", field="outcome")
    goal = db.session.get(Goal, goal_id)
    if goal is None or goal.user_id != user.id:
        raise NotFound("goal")
    # Asked back at a later meeting of the same group that this member is registered for.
    asked_at = db.session.scalar(
        select(Registration.id)
        .join(Meeting, Meeting.id == Registration.meeting_id)
        .where(
            Registration.meeting_id == at_meeting.id,
            Registration.user_id == user.id,
            Meeting.group_id
            == select(Meeting.group_id).where(Meeting.id == goal.meeting_id).scalar_subquery(),
        )
    )
    if asked_at is None or at_meeting.id == goal.meeting_id:
        raise NotFound("goal")
    db.session.execute(
        update(Goal)
        .where(Goal.id == goal_id, Goal.user_id == user.id, Goal.outcome.is_(None))
        .values(outcome=outcome, answered_at=now, answered_at_meeting_id=at_meeting.id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(goal)
    return goal


# --- organiser counts ------------------------------------------------------------------


@dataclass
class Summary:
    due_at: datetime
    queued_at: datetime | None
    checked_in: int
    opted_in: int
    emails: dict[str, int]
    goals_set: int
    goals_answered: dict[str, int]
    followups_done: int


def followups_due_at(meeting: Meeting) -> datetime:
    return meeting.ends_at + timedelta(minutes=meeting.followup_delay_minutes)


def summary(meeting: Meeting) -> Summary:
    """Counts only: organisers never see notes, goals, promises or follow-up states."""
    checked_in = (
        Registration.meeting_id == meeting.id,
        Registration.checked_in_at.is_not(None),
        Registration.status != "cancelled",
    )
    emails = dict.fromkeys(("pending", "sending", "sent", "failed"), 0)
    emails.update(
        db.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.meeting_id == meeting.id, OutboxMessage.kind == "followup")
            .group_by(OutboxMessage.status)
        ).all()
    )
    answered = dict.fromkeys(OUTCOMES, 0)
    answered.update(
        db.session.execute(
            select(Goal.outcome, func.count())
            .where(Goal.meeting_id == meeting.id, Goal.outcome.is_not(None))
            .group_by(Goal.outcome)
        ).all()
    )
    return Summary(
        due_at=followups_due_at(meeting),
        queued_at=meeting.followups_queued_at,
        checked_in=db.session.scalar(select(func.count()).where(*checked_in)),
        opted_in=db.session.scalar(
            select(func.count())
            .select_from(Registration)
            .join(User, User.id == Registration.user_id)
            .where(*checked_in, User.followup_emails.is_(True))
        ),
        emails=emails,
        goals_set=db.session.scalar(select(func.count()).where(Goal.meeting_id == meeting.id)),
        goals_answered=answered,
        followups_done=db.session.scalar(
            select(func.count()).where(FollowUp.meeting_id == meeting.id, FollowUp.state == "done")
        ),
    )
