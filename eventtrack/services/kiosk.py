"""Codes that let an attendee check themself in: the kiosk's rotating QR and the poster's QR.

A kiosk code names its meeting and a 30-second time step, signed with HMAC-SHA256 under the
app's ``SECRET_KEY``. The current and the previous step are accepted, so a code works for at
most a minute: a screenshot sent to someone at home is dead before it matters. The poster code
is signed the same way without a step; it works only while the meeting's check-in is open.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import db
from ..models import Meeting
from ..models.vocabularies import CheckinHow
from .errors import DomainError

STEP_SECONDS = 30
ACCEPTED_STEPS = 2  # the current step and the one before: at most 60 s
TICKET_MINUTES = 10  # time to type an email after scanning a valid code


class CodeRejected(DomainError):
    """A kiosk or poster code that cannot be used: ``invalid``, ``expired`` or ``not_open``."""

    STATUS = {"invalid": 404, "expired": 410, "not_open": 409}

    def __init__(self, code: str, message: str, meeting: Meeting | None = None):
        super().__init__(code, message)
        self.status = self.STATUS[code]
        # ``not_open``: the meeting, so the door can say when its check-in opens.
        self.meeting = meeting


@dataclass(frozen=True)
class Grant:
    """What a valid code allows: self check-in at ``meeting`` by ``how`` (kiosk | poster).

    A grant carried by a ticket has the ticket's ``nonce``: the one check-in the ticket makes
    is recorded under it, so the ticket checks in one person, once (``checkin.self_check_in_
    by_email``)."""

    meeting: Meeting
    how: str
    nonce: str | None = None


def _mac(message: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def seconds_to_next_step(now: datetime) -> float:
    return STEP_SECONDS - (now.timestamp() % STEP_SECONDS)


def kiosk_code(meeting: Meeting, now: datetime) -> str:
    """The code the kiosk shows right now for ``meeting``."""
    step = time_step(now)
    return f"{meeting.id}.{step}.{_mac(f'kiosk:{meeting.id}:{step}')}"


def poster_code(meeting: Meeting) -> str:
    """The printed poster's code: fixed per meeting, honoured only inside the check-in window."""
    return f"{meeting.id}.p.{_mac(f'poster:{meeting.id}')}"


def verify(code: str, now: datetime) -> Grant:
    """Return what ``code`` grants at ``now`` or raise ``CodeRejected`` saying why not."""
    parts = (code or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(code) > 100:
        raise CodeRejected("invalid", "This is not a check-in code of this app.")
    meeting_id, step, mac = parts
    if step == "p":
        how, message = CheckinHow.POSTER, f"poster:{meeting_id}"
    elif step.isdigit():
        how, message = CheckinHow.KIOSK, f"kiosk:{meeting_id}:{step}"
    else:
        raise CodeRejected("invalid", "This is not a check-in code of this app.")
    if not hmac.compare_digest(mac, _mac(message)):
        raise CodeRejected("invalid", "This check-in code is not genuine.")
    meeting = db.session.get(Meeting, int(meeting_id))
    if meeting is None:
        raise CodeRejected("invalid", "This check-in code is for a meeting that no longer exists.")
    if how == CheckinHow.KIOSK:
        age = time_step(now) - int(step)
        if not 0 <= age < ACCEPTED_STEPS:
            raise CodeRejected(
                "expired", "This code has expired. Scan the code on the screen at the door again."
            )
    elif not meeting.checkin_opens_at <= now <= meeting.checkin_closes_at:
        opens = meeting.local(meeting.checkin_opens_at).strftime("%a %d %b, %H:%M")
        closes = meeting.local(meeting.checkin_closes_at).strftime("%H:%M")
        raise CodeRejected(
            "not_open", f"Check-in for {meeting.title} is open {opens}–{closes}, not now.", meeting
        )
    return Grant(meeting=meeting, how=how)


# A ticket carries a verified grant from the page that showed the email form to its POST, so a
# kiosk code that rotates while the attendee types does not lose their check-in.
def _ticket_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="door-self-checkin")


def ticket_for(grant: Grant) -> str:
    """A signed ticket for one check-in by email under ``grant``, with a nonce of its own."""
    nonce = "kiosk-" + secrets.token_urlsafe(12)
    return _ticket_serializer().dumps({"m": grant.meeting.id, "h": grant.how, "n": nonce})


def verify_ticket(ticket: str) -> Grant:
    """Return the grant ``ticket`` carries or raise ``CodeRejected``; valid for 10 minutes."""
    serializer = _ticket_serializer()
    try:
        data = serializer.loads(ticket or "", max_age=TICKET_MINUTES * 60)
    except SignatureExpired as exc:
        raise CodeRejected(
            "expired", "This form waited too long. Scan the code at the door again."
        ) from exc
    except BadSignature as exc:
        raise CodeRejected("invalid", "This form is not genuine.") from exc
    meeting_id, nonce = data.get("m"), data.get("n")
    if not isinstance(meeting_id, int) or not isinstance(nonce, str):
        raise CodeRejected("invalid", "This form is not genuine.")
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or data.get("h") not in (CheckinHow.KIOSK, CheckinHow.POSTER):
        raise CodeRejected("invalid", "This form is not genuine.")
    return Grant(meeting=meeting, how=data["h"], nonce=nonce)
