"""Registrations (a person's place at a meeting, with its QR pass) and check-in records."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .vocabularies import CheckinHow, RegistrationStatus, one_of, words

STATUSES = tuple(RegistrationStatus)
CHECKIN_HOWS = tuple(CheckinHow)
# What a check-in can move a registration from (and an undo puts back).
BEFORE_CHECKIN = words(RegistrationStatus.WAITLIST, RegistrationStatus.CANCELLED)


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        CheckConstraint(one_of("status", RegistrationStatus), name="status"),
        CheckConstraint(one_of("checkin_how", CheckinHow, nullable=True), name="checkin_how"),
        # Set together, and only while checked in: what undoing the check-in puts back.
        CheckConstraint(
            "(status_before_checkin IS NULL AND status_changed_before_checkin IS NULL) OR "
            f"(status_before_checkin IN {BEFORE_CHECKIN} "
            "AND status_changed_before_checkin IS NOT NULL AND checked_in_at IS NOT NULL)",
            name="status_before_checkin",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=RegistrationStatus.GOING)
    # Opaque and random (services.registrations.new_pass_token): nothing personal in the QR.
    pass_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    checkin_how: Mapped[str | None] = mapped_column(String(20))
    # A check-in off the waitlist or of a cancelled registration gives the person a place
    # ('going'); these keep what they had, so that an undo gives the place back and puts them
    # where they were in the waitlist.
    status_before_checkin: Mapped[str | None] = mapped_column(String(20))
    status_changed_before_checkin: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped["Meeting"] = relationship(back_populates="registrations")  # noqa: F821
    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    checked_in_by: Mapped["User | None"] = relationship(foreign_keys=[checked_in_by_id])  # noqa: F821
