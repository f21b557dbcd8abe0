"""People: users, their API tokens and their one-time sign-in links."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased, so the unique key is case-insensitive on every database.
        CheckConstraint("email = lower(email)", name="email_lower"),
        # A user id is what a session cookie and a worker's memo of an API token hold: never
        # hand a deleted user's id to someone else (SQLite would reuse the largest otherwise;
        # PostgreSQL's sequences never do).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    headline: Mapped[str] = mapped_column(String(160), default="")
    company: Mapped[str] = mapped_column(String(120), default="")
    interests: Mapped[str] = mapped_column(Text, default="", info={"max_length": 1000})
    asks: Mapped[str] = mapped_column(Text, default="", info={"max_length": 1000})
    offers: Mapped[str] = mapped_column(Text, default="", info={"max_length": 1000})
    linkedin_url: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Consent: only the member changes these (services.profiles).
    share_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_emails: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list["Membership"]] = relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan"
    )

    # The key of the sign-in session this object was loaded for (``services.sessions``): what
    # Flask-Login keeps in the session and remember cookies instead of the bare user id, so a
    # cookie names one server-side session that sign-out can end.
    session_key = None  # not a column: set by services.sessions when a session loads it

    def get_id(self) -> str | None:
        return self.session_key

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_organiser_account(self) -> bool:
        """Accounts with a password are organisers; members sign in by link or pass."""
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Only a SHA-256 of the token is kept: a leaked database leaks no usable token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginLink(db.Model):
    __tablename__ = "login_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_url: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class AuthSession(db.Model):
    """One signed-in browser: its cookies carry ``<id>.<secret>``, the database keeps a hash of
    the secret. Sign-out (or expiry) ends it here, so a copied cookie is dead with it."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SignupLink(db.Model):
    """A sign-up waiting for its address to be proved: the account exists only once the link
    mailed to ``email`` is used."""

    __tablename__ = "signup_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # Hashed at sign-up (scrypt), set on the account once the address is proved.
    password_hash: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
