"""Every vocabulary of the domain, once: a ``StrEnum`` each, and the CHECK constraint text
built from it (``one_of``), so the database and the code can never list different words.

A member compares equal to its string (``RegistrationStatus.GOING == "going"``), so rows read
back as plain strings and code written either way agree.
"""

from enum import StrEnum


class RegistrationStatus(StrEnum):
    GOING = "going"
    WAITLIST = "waitlist"
    CANCELLED = "cancelled"


class CheckinHow(StrEnum):
    PASS_SCAN = "pass_scan"  # noqa: S105 - a way of checking in, not a password
    KIOSK = "kiosk"
    POSTER = "poster"
    MANUAL = "manual"
    WALK_IN = "walk_in"


class CheckinAction(StrEnum):
    CHECKIN = "checkin"
    UNDO = "undo"


class Role(StrEnum):
    ORGANISER = "organiser"
    MEMBER = "member"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class ConnectionHow(StrEnum):
    SCAN = "scan"
    LIST = "list"
    ORGANISER_ROUND = "organiser_round"


class FollowUpState(StrEnum):
    TODO = "todo"
    DONE = "done"
    SNOOZED = "snoozed"


class GoalOutcome(StrEnum):
    DONE = "done"
    NOT_YET = "not_yet"
    DROPPED = "dropped"


class MailStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def words(*members: StrEnum) -> str:
    """``('a', 'b')``: the SQL list of ``members``' values, in their order."""
    return "(" + ", ".join(f"'{m.value}'" for m in members) + ")"


def one_of(column: str, vocabulary: type[StrEnum], *, nullable: bool = False) -> str:
    """CHECK text: ``column`` holds a word of ``vocabulary`` (or NULL when ``nullable``)."""
    check = f"{column} IN {words(*vocabulary)}"
    return f"{column} IS NULL OR {check}" if nullable else check
