"""The organiser's phone scanner in a real browser: a fake camera films a pass, the page
checks it in and shows the green result; the page stays small and never leaves the origin."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from eventtrack.extensions import db
from eventtrack.models import Registration
from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/organise/"))


def open_door(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), now=now)
    reg = make.registration(meeting, make.member(group, name="Ana Ruiz"))
    return organiser, meeting, reg


def test_scanner_scans_a_pass_and_shows_green(phone, live_server, make, now):
    organiser, meeting, reg = open_door(make, now)
    page = phone(camera_data=f"{live_server}/p/{reg.pass_token}", name="pass")
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/door/m/{meeting.id}/scan")

    result = page.locator("#result")
    try:
        expect(result).to_have_class(re.compile(r"\bscan-ok\b"), timeout=15_000)
    except AssertionError:
        raise AssertionError(f"camera: {page.locator('#camera-state').text_content()}") from None
    expect(page.locator("#result-text")).to_have_text("Checked in: Ana Ruiz")
    screenshot(page, "door-scanner-green")
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert (reg.checkin_how, reg.checked_in_by_id) == ("pass_scan", organiser.id)
    assert page.offsite_requests == []


def test_scanner_page_is_under_30_kb_and_stays_on_the_origin(phone, live_server, make, now):
    organiser, meeting, _ = open_door(make, now)
    page = phone(name="budget")  # the default fake camera: a test pattern, nothing to decode
    sign_in(page, live_server, organiser)
    loaded = []
    page.on("response", lambda r: loaded.append(r))

    page.goto(f"{live_server}/door/m/{meeting.id}/scan")
    expect(page.locator("#camera-state")).to_have_text(re.compile("Point the camera|Camera"))
    page.wait_for_load_state("networkidle")

    own = [r for r in loaded if r.url.startswith(live_server) and "/static/vendor/" not in r.url]
    sizes = {r.url.removeprefix(live_server): len(r.body()) for r in own}
    assert set(sizes) == {
        f"/door/m/{meeting.id}/scan",
        "/static/css/door.css",
        "/static/js/scanner.js",
    }, sizes
    assert sum(sizes.values()) < 30 * 1024, sizes
    assert any("/static/vendor/qr-scanner/" in r.url for r in loaded)
    assert page.offsite_requests == []
