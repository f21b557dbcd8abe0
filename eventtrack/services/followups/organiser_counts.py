"""What organisers see of the follow-ups of a meeting: counts only — never notes, goals,
promises or follow-up states.

``counts`` is the one place these are counted: the follow-ups page (``summary``) and the
meeting report (``services.insights``) both read it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Meeting, OutboxMessage, Registration, User
from ...models.followup import OUTCOMES, FollowUp, Goal
from ...models.vocabularies import FollowUpState, MailStatus
from ..connections import here

FOLLOWUP_MAIL = "followup"  # the outbox kind of the follow-up email (services.followup_mail)


@dataclass
class Counts:
    """A meeting's follow-ups, counted."""

    emails: dict[str, int]  # follow-up emails by outbox status (every status, 0 when none)
    goals_set: int
    goals_answered: dict[str, int]  # goals of this meeting by outcome (every outcome)
    followups_done: int  # follow-up rows of this meeting marked done


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


def _count(*where):
    return select(func.count()).where(*where).scalar_subquery()


def counts(meeting_id: int) -> Counts:
    """The follow-up emails by status, goals set and answered, follow-ups done: one statement
    (a count each, every one on an index of its table)."""
    mail = (OutboxMessage.meeting_id == meeting_id, OutboxMessage.kind == FOLLOWUP_MAIL)
    goal = Goal.meeting_id == meeting_id
    row = db.session.execute(
        select(
            *(_count(*mail, OutboxMessage.status == status) for status in MailStatus),
            _count(goal),
            *(_count(goal, Goal.outcome == outcome) for outcome in OUTCOMES),
            _count(FollowUp.meeting_id == meeting_id, FollowUp.state == FollowUpState.DONE),
        )
    ).one()
    statuses = len(MailStatus)
    return Counts(
        emails=dict(zip(MailStatus, row[:statuses], strict=True)),
        goals_set=row[statuses],
        goals_answered=dict(zip(OUTCOMES, row[statuses + 1 : -1], strict=True)),
        followups_done=row[-1],
    )


def summary(meeting: Meeting) -> Summary:
    """Counts only: organisers never see notes, goals, promises or follow-up states."""
    checked_in = (Registration.meeting_id == meeting.id, here())
    counted = counts(meeting.id)
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
        emails=counted.emails,
        goals_set=counted.goals_set,
        goals_answered=counted.goals_answered,
        followups_done=counted.followups_done,
    )
