"""Who met whom at a meeting."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .vocabularies import ConnectionHow, one_of

HOWS = tuple(ConnectionHow)


class Connection(db.Model):
    """An unordered pair stored ordered (``user_a_id < user_b_id``), once per meeting."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_a_id", "user_b_id"),
        CheckConstraint("user_a_id < user_b_id", name="ordered_pair"),
        CheckConstraint(one_of("how", ConnectionHow), name="how"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_a_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user_b_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    how: Mapped[str] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Each side's private note: shown to its author only.
    note_a: Mapped[str] = mapped_column(Text, default="", info={"max_length": 2000})
    note_b: Mapped[str] = mapped_column(Text, default="", info={"max_length": 2000})

    meeting: Mapped["Meeting"] = relationship()  # noqa: F821
    user_a: Mapped["User"] = relationship(foreign_keys=[user_a_id])  # noqa: F821
    user_b: Mapped["User"] = relationship(foreign_keys=[user_b_id])  # noqa: F821
