"""Follow-up state, promises and goals (issue #5).

A follow-up row exists only once a member has touched a person on their list: no row means
"to do". Goals are one per member per meeting and are asked back at the group's next meeting.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow
from .vocabularies import FollowUpState, GoalOutcome, one_of

STATES = tuple(FollowUpState)
OUTCOMES = tuple(GoalOutcome)


class FollowUp(db.Model):
    """One member's follow-up of one person they met at one meeting."""

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("meeting_id", "owner_id", "other_id"),
        CheckConstraint(one_of("state", FollowUpState), name="state"),
        CheckConstraint("owner_id <> other_id", name="not_self"),
        CheckConstraint("state <> 'done' OR done_at IS NOT NULL", name="done_has_date"),
        CheckConstraint("state <> 'snoozed' OR snoozed_until IS NOT NULL", name="snoozed_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default=FollowUpState.TODO)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Calendar dates, in the meeting's timezone: "snooze until Monday", "due on the 12th".
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    promise: Mapped[str] = mapped_column(String(300), default="")
    promise_due: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Goal(db.Model):
    """A member's goal for the weeks after a meeting, and how it went when asked back."""

    __tablename__ = "goals"
    __table_args__ = (
        UniqueConstraint("user_id", "meeting_id"),
        CheckConstraint(one_of("outcome", GoalOutcome, nullable=True), name="outcome"),
        CheckConstraint("outcome IS NULL OR answered_at IS NOT NULL", name="answered_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The later meeting at which the member was asked "Last time you said …: done?".
    answered_at_meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL")
    )
