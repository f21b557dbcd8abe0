"""What organisers see of the follow-ups of a meeting: counts only — never notes, goals,
promises or follow-up states."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Meeting, OutboxMessage, Registration, User
from ...models.followup import OUTCOMES, FollowUp, Goal
from ...models.vocabularies import FollowUpState, MailStatus
from ..connections import here


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
    """When a meeting's follow-up emails are due: its end plus its follow-up delay."""
    return meeting.ends_at + timedelta(minutes=meeting.followup_delay_minutes)


def summary(meeting: Meeting) -> Summary:
    """Counts only: organisers never see notes, goals, promises or follow-up states."""
    checked_in = (Registration.meeting_id == meeting.id, here())
    emails = dict.fromkeys(MailStatus, 0)
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
            select(func.count()).where(
                FollowUp.meeting_id == meeting.id, FollowUp.state == FollowUpState.DONE
            )
        ),
    )
