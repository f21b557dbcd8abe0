"""What a pass is made of: its QR code (SVG) and its calendar entry (.ics)."""

from datetime import datetime

import qrcode
import qrcode.image.svg
from icalendar import Calendar, Event, vText

from ..links import external_url
from ..models import Registration
from ..models.vocabularies import MeetingStatus
from .registrations import pass_url


def qr_svg(data: str) -> bytes:
    """An SVG QR code of ``data`` (a URL: never personal data)."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    qr.add_data(data)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode").encode()


def ics(reg: Registration, now: datetime) -> bytes:
    """A one-event calendar for ``reg``'s meeting; stable UID so re-imports update it."""
    meeting = reg.meeting
    cal = Calendar()
    cal.add("prodid", "-//eventtrack//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@eventtrack")
    event.add("dtstamp", now)
    event.add("dtstart", meeting.local(meeting.starts_at))
    event.add("dtend", meeting.local(meeting.ends_at))
    event.add("summary", meeting.title)
    event.add("location", vText(meeting.venue or ""))
    event.add(
        "description",
        f"{meeting.description}\n\nYour pass: {pass_url(reg)}".strip(),
    )
    event.add("url", external_url("attendee.pass_page", token=reg.pass_token))
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()
