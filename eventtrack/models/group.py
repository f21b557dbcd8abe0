"""Professional groups and who belongs to them."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .vocabularies import Role, one_of

ROLES = tuple(Role)


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="", info={"max_length": 4000})
    default_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Archived: kept with its history, off the organisers' everyday lists.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )
    meetings: Mapped[list["Meeting"]] = relationship(  # noqa: F821
        back_populates="group", cascade="all, delete-orphan", order_by="Meeting.starts_at"
    )


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        CheckConstraint(one_of("role", Role), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the organiser typed when adding the address. Until the person takes part (RSVPs,
    # checks in, accepts) the group's organisers see this, never the account's own profile.
    typed_name: Mapped[str] = mapped_column(String(120), default="")
    # And the company they typed (never the account's own, which is the person's).
    typed_company: Mapped[str] = mapped_column(String(120), default="", server_default="")
    engaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the organisers may search this member by (the visible name, email and company),
    # folded by ``models.search.fold``: kept up to date wherever those change.
    search_key: Mapped[str] = mapped_column(String(600), default="", server_default="")

    group: Mapped[Group] = relationship(back_populates="memberships")
    user: Mapped["User"] = relationship(back_populates="memberships")  # noqa: F821
