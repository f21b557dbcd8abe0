"""A member's own record (``member_record``): the meetings they came to, the people they met
there, their follow-ups and goals — across every group they belong to. Private to the member:
it holds their own goals' text, and only they may be shown it.

Definitions (each tested in tests/services/test_insights.py):

- **meetings**: every meeting the member was present at (``rules.present``, checked in by
  ``now``) of a group they belong to, newest first.
- **met**: the other side of each of their connections at that meeting, by name; **met again**:
  they have a connection with that person at a meeting that started later (any group).
- **follow-ups done / promised**: the member's own follow-ups of that meeting with a promise
  written (promised), and of those the ones marked done — never "3 done of 1 promised".
- **goal**: the member's own goal set at that meeting and its outcome, once reported.
- **totals**: over the meetings listed: distinct people met, of those the ones met again,
  follow-ups done and promised, goals set and reported done; ``since``: the local date of the
  first meeting listed.

Statements: two whatever the length of the record (the meetings with goals and follow-up
counts, and the connections).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select

from ...extensions import db
from ...models import Connection, Group, Meeting, Membership, Registration, User
from ...models.followup import FollowUp, Goal
from ...models.vocabularies import FollowUpState, GoalOutcome
from .. import rules
from . import AttendedMeeting, MemberRecord, MetPerson, count_where


def _meetings(user: User, now: datetime):
    """Rows: meeting, title, group, start, timezone, goal, outcome, follow-ups done, promised."""
    promised = FollowUp.promise != ""
    followups = (
        select(
            FollowUp.meeting_id,
            count_where(promised & (FollowUp.state == FollowUpState.DONE)).label("done"),
            count_where(promised).label("promised"),
        )
        .where(FollowUp.owner_id == user.id)
        .group_by(FollowUp.meeting_id)
        .subquery()
    )
    member = (
        select(Membership.id)
        .where(Membership.group_id == Meeting.group_id, Membership.user_id == user.id)
        .exists()
    )
    return db.session.execute(
        select(
            Meeting.id,
            Meeting.title,
            Group.name,
            Meeting.starts_at,
            Meeting.timezone,
            Goal.text,
            Goal.outcome,
            func.coalesce(followups.c.done, 0),
            func.coalesce(followups.c.promised, 0),
        )
        .select_from(Registration)
        .join(Meeting, Meeting.id == Registration.meeting_id)
        .join(Group, Group.id == Meeting.group_id)
        .outerjoin(Goal, (Goal.meeting_id == Meeting.id) & (Goal.user_id == user.id))
        .outerjoin(followups, followups.c.meeting_id == Meeting.id)
        .where(
            Registration.user_id == user.id,
            rules.present(),
            Registration.checked_in_at <= now,
            member,
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    ).all()


def _connections(user: User):
    """Rows: meeting, its start, the other person's id and name — every connection of
    ``user``, any group."""
    other_id = case(
        (Connection.user_a_id == user.id, Connection.user_b_id), else_=Connection.user_a_id
    )
    return db.session.execute(
        select(Connection.meeting_id, Meeting.starts_at, User.id, User.name)
        .join(Meeting, Meeting.id == Connection.meeting_id)
        .join(User, User.id == other_id)
        .where(or_(Connection.user_a_id == user.id, Connection.user_b_id == user.id))
        .order_by(func.lower(User.name), User.id)
    ).all()


def member_record(user: User, now: datetime) -> MemberRecord:
    """``user``'s own record up to ``now``: for ``user`` only (it holds their goals)."""
    meetings = _meetings(user, now)
    met_at: dict[int, list[tuple[int, str]]] = {}
    starts_with: dict[int, list[datetime]] = {}  # other person -> starts of meetings met at
    for meeting_id, starts_at, other_id, name in _connections(user):
        met_at.setdefault(meeting_id, []).append((other_id, name))
        starts_with.setdefault(other_id, []).append(starts_at)

    record = MemberRecord(user_id=user.id)
    people, again = set(), set()
    for meeting_id, title, group_name, starts_at, _tz, goal, outcome, done, promised in meetings:
        met = []
        for other_id, name in met_at.get(meeting_id, []):
            later = any(start > starts_at for start in starts_with[other_id])
            met.append(MetPerson(other_id, name, later))
            people.add(other_id)
            if later:
                again.add(other_id)
        record.meetings.append(
            AttendedMeeting(
                meeting_id=meeting_id,
                title=title,
                group_name=group_name,
                starts_at=starts_at,
                met=met,
                followups_done=done,
                followups_promised=promised,
                goal=goal,
                goal_outcome=outcome,
            )
        )
        record.followups_done += done
        record.followups_promised += promised
        record.goals_set += goal is not None
        record.goals_done += outcome == GoalOutcome.DONE
    record.people_met, record.people_met_again = len(people), len(again)
    if meetings:
        first = meetings[-1]
        record.since = first.starts_at.astimezone(ZoneInfo(first.timezone)).date()
    return record
