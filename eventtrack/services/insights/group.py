"""How a group's series goes (``group_report``): attendance over time, who is drifting away,
retention of first-timers and the growth of the network.

Definitions (each tested in tests/services/test_insights.py):

- **held meetings**: the group's meetings that are not cancelled and have started by ``now``,
  oldest first, each with registered / checked in / first-timers as the meeting report counts
  them (``rules.registered``, ``rules.present``, ``rules.first_timer``).
- **drifting**: current members of the group present at 3 or more held meetings and absent
  from each of the last 3 held meetings, with the start of the last meeting they were present
  at; longest absent first, then by name.
- **first-timers**: people who were first-timers (``rules.first_timer``) at a held meeting;
  **returning first-timers**: of those, the ones present at a later held meeting.
- **pairs met**: distinct unordered pairs with a connection at any meeting of the group.
- **met someone new last time**: of the people present at the latest held meeting, the share
  who have a connection there with someone they had no connection with at an earlier meeting
  of the group (None when no meeting was held; 0.0 when nobody came).

Names: a drifting person was present at 3 meetings of the group, so has taken part
(``members.engaged``): organisers see the account's own name.

Statements: four whatever the size of the group and the number of its meetings (fewer when
there is nothing to ask: under three meetings held, nobody can be drifting; nobody present at
the latest, nobody met someone new).
"""

from datetime import datetime

from sqlalchemy import case, distinct, exists, func, select, union
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import Connection, Group, Meeting, Membership, Registration, User
from ...models.vocabularies import MeetingStatus
from .. import rules
from . import Drifter, GroupReport, MeetingPoint, count_where

DRIFT_AFTER = 3  # present at this many held meetings, then absent from this many in a row


def _held(group_id: int, now: datetime, meeting=Meeting):
    """The group's meetings that took place (not cancelled) and have started by ``now``."""
    return (
        meeting.group_id == group_id,
        meeting.status != MeetingStatus.CANCELLED,
        meeting.starts_at <= now,
    )


def _meetings(group: Group, now: datetime) -> list[MeetingPoint]:
    rows = db.session.execute(
        select(
            Meeting.id,
            Meeting.title,
            Meeting.starts_at,
            count_where(rules.registered()),
            count_where(rules.present()),
            count_where(rules.first_timer()),
            Meeting.ends_at,
        )
        .select_from(Meeting)
        .outerjoin(Registration, Registration.meeting_id == Meeting.id)
        .where(*_held(group.id, now))
        .group_by(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.ends_at)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [MeetingPoint(*row) for row in rows]


def _drifting(group: Group, now: datetime, meetings: list[MeetingPoint]) -> list[Drifter]:
    # Only meetings that are over: someone on their way to the one running now missed nothing.
    ended = [m for m in meetings if m.ends_at <= now]
    if len(ended) < DRIFT_AFTER:
        return []  # nobody can have missed the last three yet
    missed_since = ended[-DRIFT_AFTER].starts_at
    attended = (
        select(
            Registration.user_id,
            func.count().label("attended"),
            func.max(Meeting.starts_at).label("last"),
        )
        .join(Meeting, Meeting.id == Registration.meeting_id)
        .where(*_held(group.id, now), Meeting.ends_at <= now, rules.present())
        .group_by(Registration.user_id)
        .subquery()
    )
    member = exists().where(Membership.group_id == group.id, Membership.user_id == User.id)
    rows = db.session.execute(
        select(User.id, User.name, attended.c.attended, attended.c["last"])
        .join(attended, attended.c.user_id == User.id)
        .where(attended.c.attended >= DRIFT_AFTER, attended.c["last"] < missed_since, member)
        .order_by(attended.c["last"], func.lower(User.name), User.id)
    )
    return [Drifter(*row) for row in rows]


def _retention_and_pairs(group: Group, now: datetime) -> tuple[int, int, int]:
    """One row: first-timers of the series, those who came back, distinct pairs met."""
    first, first_meeting = aliased(Registration, name="first"), aliased(Meeting, name="fm")
    later, later_meeting = aliased(Registration, name="later"), aliased(Meeting, name="lm")
    came_back = exists().where(
        later.user_id == first.user_id,
        rules.present(later),
        later_meeting.id == later.meeting_id,
        *_held(group.id, now, later_meeting),
        later_meeting.starts_at > first_meeting.starts_at,
    )
    group_pairs = (
        select(Connection.user_a_id, Connection.user_b_id)
        .join(Meeting, Meeting.id == Connection.meeting_id)
        .where(Meeting.group_id == group.id)
        .distinct()
        .subquery()
    )
    pairs_met = select(func.count()).select_from(group_pairs).scalar_subquery()
    return db.session.execute(
        select(
            func.count(distinct(first.user_id)),
            func.count(distinct(case((came_back, first.user_id)))),
            pairs_met,
        )
        .select_from(first)
        .join(first_meeting, first_meeting.id == first.meeting_id)
        .where(*_held(group.id, now, first_meeting), rules.first_timer(first))
    ).one()


def _met_someone_new(group: Group, latest: MeetingPoint) -> float:
    """Share of those present at ``latest`` with a connection there that is new to the group's
    earlier meetings."""
    if not latest.checked_in:
        return 0.0
    # The pairs met before, once, and the pairs at ``latest`` that are not among them: one
    # anti-join (a hash or an index built once), where an EXISTS per pair or per person probed
    # the connections of every earlier meeting (~120 ms at 5,000 people, 100,000 pairs; ~15 ms).
    before = (
        select(Connection.user_a_id, Connection.user_b_id)
        .join(Meeting, Meeting.id == Connection.meeting_id)
        .where(Meeting.group_id == group.id, Meeting.starts_at < latest.starts_at)
        .distinct()
        .subquery("before")
    )
    now_met = aliased(Connection, name="now_met")
    new_pairs = (
        select(now_met.user_a_id, now_met.user_b_id)
        .outerjoin(
            before,
            (before.c.user_a_id == now_met.user_a_id) & (before.c.user_b_id == now_met.user_b_id),
        )
        .where(now_met.meeting_id == latest.meeting_id, before.c.user_a_id.is_(None))
        .cte("new_pairs")
    )
    people = union(select(new_pairs.c.user_a_id), select(new_pairs.c.user_b_id))
    new = db.session.scalar(
        select(func.count()).where(
            Registration.meeting_id == latest.meeting_id,
            rules.present(),
            Registration.user_id.in_(people),
        )
    )
    return new / latest.checked_in


def group_report(group: Group, now: datetime) -> GroupReport:
    """How ``group``'s series goes up to ``now``: attendance, drifting, retention, network."""
    meetings = _meetings(group, now)
    first_timers, returning, pairs_met = _retention_and_pairs(group, now)
    return GroupReport(
        group_id=group.id,
        meetings=meetings,
        drifting=_drifting(group, now, meetings),
        first_timers=first_timers,
        returning_first_timers=returning,
        pairs_met=pairs_met,
        met_someone_new_last_time=_met_someone_new(group, meetings[-1]) if meetings else None,
    )
