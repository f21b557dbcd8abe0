from icalendar import Calendar

from eventtrack.services import passes, registrations
from tests.qr import decode


def test_qr_is_an_svg_of_only_the_pass_url(make, now, tmp_path):
    reg = make.registration(make.meeting(make.group(), now=now))
    url = registrations.pass_url(reg)
    svg = passes.qr_svg(url)
    assert b"<svg" in svg
    assert decode(svg, tmp_path) == url
    assert reg.user.name not in url and reg.user.email not in url


def test_ics_has_the_meeting_in_its_own_timezone(make, now):
    reg = make.registration(make.meeting(make.group(), now=now, title="Circle"))
    cal = Calendar.from_ical(passes.ics(reg, now))
    [event] = cal.walk("VEVENT")
    assert str(event["summary"]) == "Circle"
    assert event.decoded("dtstart") == reg.meeting.starts_at
    assert str(event["dtstart"].dt.tzinfo) == "Europe/Berlin"
    assert registrations.pass_url(reg) in str(event["description"])
