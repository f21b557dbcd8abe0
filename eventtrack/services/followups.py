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
from ..links import external_url
from ..models import Connection, Meeting, Membership, OutboxMessage, Registration, User
from ..models.followup import OUTCOMES, FollowUp, Goal
from . import outbox, suggestions
from .errors import DomainError, Invalid, NotFound

RECENT_MEETINGS = 3  # "out of sight": not met at any of the group's last this-many meetings
SUGGESTIONS = 5
REMINDER_EVERY = timedelta(days=7)
PROMISE_MAX = 300
GOAL_MAX = 300


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


def _users(ids) -> dict[int, User]:
    users = {}
    for chunk in _chunks(set(ids)):
        users.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(chunk)))})
    return users


def _met(meeting_id: int, owner_id: int | None) -> dict[int, list[tuple[int, str]]]:
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


def _states(meeting_id: int, owner_id: int | None) -> dict[tuple[int, int], FollowUp]:
    q = select(FollowUp).where(FollowUp.meeting_id == meeting_id)
    if owner_id is not None:
        q = q.where(FollowUp.owner_id == owner_id)
    return {(f.owner_id, f.other_id): f for f in db.session.scalars(q)}


def _person(other: User, note: str, state: FollowUp | None) -> Person:
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
    met = _met(meeting.id, single)
    states = _states(meeting.id, single)
    attendees = list(
        db.session.scalars(
            select(Registration.user_id).where(
                Registration.meeting_id == meeting.id,
                Registration.checked_in_at.is_not(None),
                Registration.status != "cancelled",
            )
        )
    )
    users = _users(
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
            _person(users[other], note, states.get((owner_id, other)))
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
    users = _users(still_members)
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
    """Counts only: organisers never see who met whom, notes, goals or promises."""
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


# --- follow-up emails ---------------------------------------------------------------------


def list_url(meeting: Meeting) -> str:
    return external_url("followups.meeting_list", meeting_id=meeting.id)


def queue_followups(meeting: Meeting, now: datetime, *, ignore_delay: bool = False) -> int:
    """Queue one follow-up email per checked-in attendee who wants them; return how many.

    Idempotent: the outbox dedup key ``followup:<meeting>:<user>`` queues each at most once,
    so a second call (or a second worker) queues nothing new. ``ignore_delay`` is the
    organiser's "send now": it skips the delay but not the end of the meeting.
    """
    if meeting.status != "scheduled":
        raise DomainError("cancelled", "This meeting was cancelled: no follow-ups.")
    if now < meeting.ends_at:
        raise DomainError("not_over", "Follow-ups can be sent once the meeting has ended.")
    if not ignore_delay and now < followups_due_at(meeting):
        raise DomainError("too_early", "The follow-up delay has not passed yet.")
    recipients = list(
        db.session.scalars(
            select(Registration.user_id)
            .join(User, User.id == Registration.user_id)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.checked_in_at.is_not(None),
                Registration.status != "cancelled",
                User.followup_emails.is_(True),
            )
            .order_by(Registration.user_id)
        )
    )
    queued = 0
    if recipients:
        url = list_url(meeting)
        for lst in build_lists(meeting, recipients).values():
            queued += _enqueue_followup(lst, url, now)
    db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.followups_queued_at.is_(None))
        .values(followups_queued_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(meeting)
    return queued


def _enqueue_followup(lst: FollowUpList, url: str, now: datetime) -> bool:
    user, meeting = lst.user, lst.meeting
    headers = outbox.unsubscribe_headers(user)
    card = vcard(lst.shared, meeting)
    text, html = outbox.render_mail(
        "followup",
        lst=lst,
        user=user,
        meeting=meeting,
        list_url=url,
        unsubscribe_url=headers["List-Unsubscribe"].strip("<>"),
        has_vcard=bool(card),
    )
    attachments = []
    if card:
        attachments.append(
            {"filename": "contacts.vcf", "content_type": "text/vcard", "content": card}
        )
    return outbox.enqueue(
        kind="followup",
        dedup_key=f"followup:{meeting.id}:{user.id}",
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        meeting_id=meeting.id,
        subject=f"Your follow-ups from {meeting.title}",
        body_text=text,
        body_html=html,
        headers=headers,
        attachments=attachments,
        now=now,
    )


def due_meetings(now: datetime) -> list[Meeting]:
    """Ended meetings whose follow-ups were never queued and whose delay has passed."""
    ended = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.status == "scheduled",
            Meeting.followups_queued_at.is_(None),
            Meeting.ends_at <= now,
        )
        .order_by(Meeting.ends_at)
    )
    return [m for m in ended if followups_due_at(m) <= now]


def queue_due_followups(now: datetime, progress=None) -> int:
    """Queue follow-ups of every meeting that is due; return how many emails were queued."""
    queued = 0
    for meeting in due_meetings(now):
        queued += queue_followups(meeting, now)
        if progress is not None:
            progress(1)
    return queued


# --- reminders before the next meeting -------------------------------------------------------


def queue_reminders(now: datetime) -> int:
    """Weekly-ish: "N follow-ups still open; the group meets again on …" (opt-in).

    For each group with a next meeting ahead, the members who attended its last meeting and
    still have open follow-ups get one reminder per full week since the follow-ups went out.
    The dedup key carries the week number, so repeated runs in a week queue nothing new.
    """
    upcoming = (
        select(Meeting.group_id, func.min(Meeting.starts_at).label("next_start"))
        .where(Meeting.status == "scheduled", Meeting.starts_at > now)
        .group_by(Meeting.group_id)
        .subquery()
    )
    queued = 0
    for group_id, next_start in db.session.execute(select(upcoming)):
        last = db.session.scalar(
            select(Meeting)
            .where(
                Meeting.group_id == group_id,
                Meeting.status == "scheduled",
                Meeting.ends_at <= now,
            )
            .order_by(Meeting.ends_at.desc())
            .limit(1)
        )
        if last is None or last.followups_queued_at is None:
            continue
        week = (now - last.followups_queued_at) // REMINDER_EVERY
        if week < 1:
            continue
        next_meeting = db.session.scalar(
            select(Meeting).where(
                Meeting.group_id == group_id,
                Meeting.status == "scheduled",
                Meeting.starts_at == next_start,
            )
        )
        queued += _queue_reminders_for(last, next_meeting, week, now)
    db.session.commit()
    return queued


def _queue_reminders_for(last: Meeting, next_meeting: Meeting, week: int, now: datetime) -> int:
    recipients = list(
        db.session.scalars(
            select(Registration.user_id)
            .join(User, User.id == Registration.user_id)
            .where(
                Registration.meeting_id == last.id,
                Registration.checked_in_at.is_not(None),
                Registration.status != "cancelled",
                User.followup_emails.is_(True),
            )
        )
    )
    met = _met(last.id, None)
    states = _states(last.id, None)
    people = _users({o for uid in recipients for o, _ in met.get(uid, [])} | set(recipients))
    today = local_today(last, now)
    url = list_url(last)
    queued = 0
    for uid in recipients:
        open_people = [
            p
            for p in (
                _person(people[o], note, states.get((uid, o))) for o, note in met.get(uid, [])
            )
            if p.is_open(today)
        ]
        if not open_people:
            continue
        user = people[uid]
        headers = outbox.unsubscribe_headers(user)
        text, html = outbox.render_mail(
            "reminder",
            user=user,
            meeting=last,
            next_meeting=next_meeting,
            open_people=sorted(open_people, key=lambda p: p.name.lower()),
            list_url=url,
            unsubscribe_url=headers["List-Unsubscribe"].strip("<>"),
        )
        n = len(open_people)
        queued += outbox.enqueue(
            kind="reminder",
            dedup_key=f"reminder:{last.id}:{uid}:w{week}",
            recipient=user.email,
            recipient_name=user.name,
            user_id=uid,
            meeting_id=last.id,
            subject=f"{n} follow-up{'s' if n != 1 else ''} still open before {next_meeting.title}",
            body_text=text,
            body_html=html,
            headers=headers,
            now=now,
        )
    return queued


# --- vCard -------------------------------------------------------------------------------


def _vc_escape(value: str) -> str:
    """RFC 2426 text escaping: backslash, comma, semicolon and newlines."""
    value = (value or "").replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _vc_fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (continuations start with a space)."""
    if len(line) <= 18 or len(line.encode()) <= 75:  # 18 chars are at most 72 octets
        return line
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def vcard(people: list[Person], meeting: Meeting) -> str:
    """One vCard 3.0 file holding every person in ``people`` who consented to share contact."""
    cards = []
    when = meeting.local(meeting.starts_at).strftime("%d %b %Y")
    for p in people:
        if not p.shared:
            continue
        given, _, family = p.name.strip().rpartition(" ")
        if not given:
            given, family = family, ""
        lines = [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"FN:{_vc_escape(p.name)}",
            f"N:{_vc_escape(family)};{_vc_escape(given)};;;",
        ]
        if p.company:
            lines.append(f"ORG:{_vc_escape(p.company)}")
        if p.headline:
            lines.append(f"TITLE:{_vc_escape(p.headline)}")
        if p.email:
            lines.append(f"EMAIL;TYPE=INTERNET:{_vc_escape(p.email)}")
        if p.phone:
            lines.append(f"TEL;TYPE=CELL:{_vc_escape(p.phone)}")
        if p.linkedin_url:
            lines.append(f"URL:{p.linkedin_url.replace(chr(10), '').replace(chr(13), '')}")
        note = f"Met at {meeting.title}, {when}." + (f"\n{p.note}" if p.note else "")
        lines.append(f"NOTE:{_vc_escape(note)}")
        lines.append("END:VCARD")
        cards.append("\r\n".join(_vc_fold(line) for line in lines))
    return "\r\n".join(cards) + "\r\n" if cards else ""
