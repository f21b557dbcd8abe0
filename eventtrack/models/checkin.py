"""Check-in records and replay protection (issue #3).

``registrations.checked_in_at`` holds the current state; every attempt to change it (a scan, a
kiosk check-in, an undo) is also a row here, with who, when, how and what came of it.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .vocabularies import CheckinAction, CheckinHow, one_of

ACTIONS = tuple(CheckinAction)


class CheckinEvent(db.Model):
    """One check-in attempt or undo. A client ``nonce`` is unique: a retried request that
    carries the same nonce finds this row and changes nothing."""

    __tablename__ = "checkin_events"
    __table_args__ = (
        CheckConstraint(one_of("action", CheckinAction), name="action"),
        CheckConstraint(one_of("how", CheckinHow), name="how"),
        Index("ix_checkin_events_meeting_feed", "meeting_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Both nullable: an unknown code scanned without a meeting still leaves its trace.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(10), default=CheckinAction.CHECKIN)
    status: Mapped[str] = mapped_column(String(30))
    how: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped["Registration | None"] = relationship()  # noqa: F821
    actor: Mapped["User | None"] = relationship()  # noqa: F821
