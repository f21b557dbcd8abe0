"""Out of sight, out of mind: members of the group someone met before, but at none of the
group's last few meetings."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from ...extensions import db
from ...models import Connection, Meeting, Membership
from ...models.vocabularies import MeetingStatus
from .people import users_by_id

RECENT_MEETINGS = 3  # "out of sight": not met at any of the group's last this-many meetings


@dataclass
class OutOfSight:
    user_id: int
    name: str
    headline: str
    company: str
    last_met: datetime
    last_meeting_title: str


def out_of_sight_for(meeting: Meeting, owner_ids: list[int]) -> dict[int, list[OutOfSight]]:
    """``owner → people out of sight``, longest out of sight first, seen from ``meeting``."""
    past = list(
        db.session.execute(
            select(Meeting.id, Meeting.starts_at, Meeting.title)
            .where(
                Meeting.group_id == meeting.group_id,
                Meeting.status == MeetingStatus.SCHEDULED,
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
