"""Self check-in in real browsers: the kiosk screen shows a rotating code, an attendee's phone
films it with its camera and is checked in."""

from datetime import timedelta

from playwright.sync_api import expect

from eventtrack.extensions import db
from eventtrack.models import Registration
from tests.e2e.conftest import screenshot
from tests.e2e.test_door_scanner import open_door, sign_in
from tests.qr import decode


def kiosk_url(phone, live_server, organiser, meeting, tmp_path) -> str:
    """Open the kiosk screen as the organiser and read its QR code off the screen."""
    kiosk = phone(name="kiosk")
    sign_in(kiosk, live_server, organiser)
    kiosk.goto(f"{live_server}/door/m/{meeting.id}/kiosk")
    qr = kiosk.locator("#kiosk-qr")
    kiosk.wait_for_function("document.getElementById('kiosk-qr').naturalWidth > 0")
    url = decode(qr.screenshot(), tmp_path, suffix=".png")
    assert url.startswith(f"{live_server}/door/in/")
    assert kiosk.offsite_requests == []
    return url


def checked_in(reg) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, reg.id)


def test_attendee_phone_scans_the_kiosk_code_and_is_checked_in(
    phone, live_server, make, now, tmp_path
):
    organiser, meeting, reg = open_door(make, now)
    url = kiosk_url(phone, live_server, organiser, meeting, tmp_path)
    attendee = phone(camera_data=url, name="attendee")
    attendee.goto(f"{live_server}/p/{reg.pass_token}")  # her pass link signs her in on her phone

    attendee.goto(f"{live_server}/door/scan-in")

    try:
        expect(attendee.locator("#outcome")).to_contain_text(
            "Welcome, Ana Ruiz! You're checked in.", timeout=15_000
        )
    except AssertionError:
        state = (
            attendee.locator("#camera-state").text_content() if "scan-in" in attendee.url else ""
        )
        raise AssertionError(f"at {attendee.url}; camera: {state}") from None
    screenshot(attendee, "door-kiosk-attendee")
    assert checked_in(reg).checkin_how == "kiosk"
    assert attendee.offsite_requests == []


def test_attendee_without_sign_in_gives_an_email_and_is_checked_in(
    phone, live_server, make, now, tmp_path
):
    organiser, meeting, reg = open_door(make, now)
    url = kiosk_url(phone, live_server, organiser, meeting, tmp_path)
    attendee = phone(camera_data=url, name="newcomer")

    attendee.goto(f"{live_server}/door/scan-in")
    attendee.wait_for_url("**/door/in/**", timeout=15_000)
    attendee.fill("input[name=name]", "Nina New")
    attendee.fill("input[name=email]", "nina@example.com")
    attendee.locator("main form button[type=submit]").click()

    expect(attendee.locator("#outcome")).to_contain_text("Thanks, Nina New! You're checked in.")
    assert checked_in(reg).checked_in_at is None  # Ana, who did not come, is untouched
    assert attendee.offsite_requests == []


def test_kiosk_code_older_than_a_minute_is_refused(phone, live_server, make, now):
    from eventtrack.services import kiosk

    organiser, meeting, reg = open_door(make, now)
    stale = kiosk.kiosk_code(meeting, now - timedelta(seconds=90))
    attendee = phone(camera_data=f"{live_server}/door/in/{stale}", name="stale")
    attendee.goto(f"{live_server}/p/{reg.pass_token}")

    attendee.goto(f"{live_server}/door/scan-in")

    expect(attendee.locator("main")).to_contain_text("This code has expired", timeout=15_000)
    assert checked_in(reg).checked_in_at is None
