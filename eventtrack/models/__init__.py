"""SQLAlchemy models. Import from here: ``from eventtrack.models import Meeting``."""

from . import checkin, connect, followup  # noqa: F401  (tables of issues #3, #4, #5)
from .connection import Connection
from .group import Group, Membership
from .meeting import Meeting
from .outbox import OutboxMessage
from .registration import Registration
from .types import utcnow
from .user import ApiToken, AuthSession, LoginLink, SignupLink, User

__all__ = [
    "ApiToken",
    "AuthSession",
    "Connection",
    "Group",
    "LoginLink",
    "Meeting",
    "Membership",
    "OutboxMessage",
    "Registration",
    "SignupLink",
    "User",
    "utcnow",
]
