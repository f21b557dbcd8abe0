"""What a check-in attempt answers: its status, the door's sentence for it, and the HTTP code."""

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from ...models import Meeting, Registration
from ...models.vocabularies import MeetingStatus, RegistrationStatus
from ..errors import Invalid


class Status(StrEnum):
    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"
    INVALID = "invalid"
    NOT_THIS_MEETING = "not_this_meeting"
    CANCELLED = "cancelled"
    NOT_OPEN = "not_open"
    UNDONE = "undone"
    NOT_CHECKED_IN = "not_checked_in"


CHECKED_IN = Status.CHECKED_IN
ALREADY_CHECKED_IN = Status.ALREADY_CHECKED_IN
INVALID = Status.INVALID
NOT_THIS_MEETING = Status.NOT_THIS_MEETING
CANCELLED = Status.CANCELLED
NOT_OPEN = Status.NOT_OPEN
UNDONE = Status.UNDONE
NOT_CHECKED_IN = Status.NOT_CHECKED_IN

HTTP_STATUS = {
    CHECKED_IN: 201,
    ALREADY_CHECKED_IN: 200,
    INVALID: 404,
    NOT_THIS_MEETING: 409,
    CANCELLED: 409,
    NOT_OPEN: 409,
    UNDONE: 200,
    NOT_CHECKED_IN: 409,
}
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass
class CheckinResult:
    """The answer to one attempt: a status (never an exception) and what the door needs."""

    status: str
    message: str
    registration_id: int | None = None
    name: str = ""
    checked_in_at: datetime | None = None
    first_time: bool = False
    replayed: bool = False
    # At the kiosk or poster: the meeting is full, and the person is on its waitlist.
    waitlisted: bool = False

    @property
    def ok(self) -> bool:
        return self.status in (CHECKED_IN, ALREADY_CHECKED_IN)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.status]

    def as_json(self, meeting: Meeting | None = None) -> dict:
        """The answer as the API and the door's scanner send it (``CheckinOut``), with the
        time at the meeting's place when ``meeting`` is given."""
        at = self.checked_in_at
        body = {
            "checked_in_at": at.isoformat() if at is not None else None,
            "first_time": self.first_time,
            "message": self.message,
            "name": self.name,
            "registration_id": self.registration_id,
            "replayed": self.replayed,
            "status": str(self.status),
        }
        if meeting is not None:
            body["checked_in_local"] = hhmm(meeting, at) if at is not None else None
        return body


def extract_token(code: str) -> str:
    """The pass token in what a scanner read: a bare token or a pass URL ending ``/p/<token>``.

    Returns "" when ``code`` cannot be a pass (wrong shape, another URL): that is ``invalid``.
    """
    code = (code or "").strip()
    if len(code) > 2000:
        return ""
    if "/" in code:
        head, _, code = urlsplit(code).path.rstrip("/").rpartition("/")
        if not head.endswith("/p") and head != "/p":
            return ""
    return code if TOKEN_RE.fullmatch(code) else ""


def clean_nonce(nonce: str | None) -> str | None:
    if not nonce:
        return None
    if not NONCE_RE.fullmatch(nonce):
        raise Invalid("A nonce is 8 to 64 letters, digits, '-' or '_'.", field="nonce")
    return nonce


def hhmm(meeting: Meeting, when: datetime) -> str:
    return meeting.local(when).strftime("%H:%M")


def message(status: str, reg: Registration | None, meeting: Meeting | None) -> str:
    """The door's sentence for ``status``."""
    name = reg.user.name if reg is not None else ""
    if status == CHECKED_IN:
        return f"Checked in: {name}"
    if status == ALREADY_CHECKED_IN and reg is not None and reg.checked_in_at is not None:
        return f"{name}: already checked in at {hhmm(reg.meeting, reg.checked_in_at)}"
    if status == CANCELLED:
        if meeting is not None and meeting.status == MeetingStatus.CANCELLED:
            return "This meeting is cancelled."
        return f"Registration cancelled: {name}" if name else "Registration cancelled."
    if status == NOT_OPEN and reg is not None and reg.status == RegistrationStatus.WAITLIST:
        return f"{name} is on the waitlist: no place yet."
    if status == NOT_OPEN and meeting is not None:
        return (
            f"Check-in is open {hhmm(meeting, meeting.checkin_opens_at)}–"
            f"{hhmm(meeting, meeting.checkin_closes_at)}, not now."
        )
    if status == NOT_THIS_MEETING:
        return "Not a pass for this meeting."
    if status == UNDONE:
        return f"Check-in undone: {name}"
    if status == NOT_CHECKED_IN:
        return f"{name} was not checked in."
    return {
        ALREADY_CHECKED_IN: f"{name}: already checked in",
        NOT_OPEN: "Check-in is not open.",
    }.get(status, "Unknown code: not a pass of this app.")
