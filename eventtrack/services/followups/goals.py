"""A member's one goal for the weeks after a meeting, asked back at the group's next meeting
("Last time you said …: done?")."""

from datetime import datetime

from sqlalchemy import select, update

from ...extensions import db
from ...models import Meeting, Registration, User
from ...models.followup import OUTCOMES, Goal
from ...models.limits import max_length
from ...models.vocabularies import RegistrationStatus
from ..errors import Invalid, NotFound
from .people import attended
from .upsert import upsert

GOAL_MAX = max_length(Goal.text)


def set_goal(meeting: Meeting, user: User, text: str, now: datetime) -> Goal:
    """Set (or change) ``user``'s one goal for the weeks after ``meeting``."""
    reg = attended(meeting, user)
    if reg.status == RegistrationStatus.CANCELLED:
        raise Invalid("You are not registered for this meeting.", field="text")
    text = " ".join((text or "").split())
    if not text:
        raise Invalid("Write your goal in a few words.", field="text")
    if len(text) > GOAL_MAX:
        raise Invalid(f"Keep your goal under {GOAL_MAX} characters.", field="text")
    return db.session.scalar(
        upsert(Goal, "user_id", "meeting_id", set_={"text": text, "updated_at": now})
        .values(user_id=user.id, meeting_id=meeting.id, text=text, created_at=now, updated_at=now)
        .returning(Goal),
        execution_options={"populate_existing": True},
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
    db.session.refresh(goal)
    return goal
