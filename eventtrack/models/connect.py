"""Connect codes (issue #4): each registration's own QR for "we met", apart from its pass.

Someone who scans your connect code must not be able to check you in or sign in as you, so the
connect token is a separate random value, kept in its own table and created on first use.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class ConnectCode(db.Model):
    __tablename__ = "connect_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One code per registration: created with INSERT … ON CONFLICT DO NOTHING on this key.
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), unique=True
    )
    # 144 random bits, URL-safe (services.connections.new_connect_token).
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped["Registration"] = relationship()  # noqa: F821
