"""Meetings of a group, optionally part of a repeating series."""

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .vocabularies import MeetingStatus, one_of


def new_invite_token() -> str:
    """144 random bits, URL-safe: a meeting's shareable link cannot be guessed from its id."""
    return secrets.token_urlsafe(18)


class Meeting(db.Model):
    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("checkin_closes_at > checkin_opens_at", name="checkin_window"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint(one_of("status", MeetingStatus), name="status"),
        CheckConstraint("reminder_minutes IS NULL OR reminder_minutes > 0", name="reminder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="", info={"max_length": 8000})
    venue: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    capacity: Mapped[int | None] = mapped_column(Integer)
    checkin_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checkin_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.SCHEDULED)
    followup_delay_minutes: Mapped[int] = mapped_column(Integer, default=120)
    followups_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Minutes before the start that registrants get a reminder; None: no reminder.
    reminder_minutes: Mapped[int | None] = mapped_column(Integer, default=24 * 60)
    reminders_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The meeting's shareable link (/i/<token>): members RSVP through it after signing in.
    invite_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_invite_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped["Group"] = relationship(back_populates="meetings")  # noqa: F821
    registrations: Mapped[list["Registration"]] = relationship(  # noqa: F821
        back_populates="meeting", cascade="all, delete-orphan"
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, when: datetime) -> datetime:
        """Return ``when`` in the meeting's own timezone, for display."""
        return when.astimezone(self.tz)
