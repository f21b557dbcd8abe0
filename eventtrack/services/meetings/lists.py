"""Meetings listed: a group's upcoming and past ones, a member's, and a meeting's counts."""

from datetime import datetime

from sqlalchemy import func, select

from ...extensions import db
from ...models import Group, Meeting, Membership, Registration, User
from ...models.vocabularies import RegistrationStatus
from .. import rules


def upcoming(group: Group, now: datetime) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.group_id == group.id, Meeting.ends_at >= now)
            .order_by(Meeting.starts_at)
        )
    )


def past(group: Group, now: datetime) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.group_id == group.id, Meeting.ends_at < now)
            .order_by(Meeting.starts_at.desc())
        )
    )


def counts(meeting: Meeting) -> dict[str, int]:
    """Registrations by status, plus checked in."""
    rows = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.meeting_id == meeting.id)
        .group_by(Registration.status)
    ).all()
    result = {status.value: 0 for status in RegistrationStatus}
    result.update(dict(rows))
    result["checked_in"] = db.session.scalar(
        select(func.count()).where(Registration.meeting_id == meeting.id, rules.present())
    )
    return result


def members_meetings(user: User, now: datetime) -> list[Meeting]:
    """Upcoming meetings of the groups ``user`` belongs to."""
    return list(
        db.session.scalars(
            select(Meeting)
            .join(Membership, Membership.group_id == Meeting.group_id)
            .where(Membership.user_id == user.id, Meeting.ends_at >= now)
            .order_by(Meeting.starts_at)
        )
    )
