"""The attendee's pages and the door's list in a real browser, at phone width (360 px) and at
desktop width: nothing scrolls sideways, every tap target is at least 44 px, and long unbroken
names and titles wrap. Screenshots go to test-artifacts/screenshots/ (named by page and size);
the README's are copied from there.

Measured in the page with ``getBoundingClientRect``. Links inside a sentence (display inline)
are exempt, as WCAG 2.5.8 exempts them; every other link, button and field counts.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from eventtrack.extensions import db
from eventtrack.services import kiosk
from tests.e2e.conftest import BASE_ARGS, CHROMIUM
from tests.e2e.test_door_scanner import sign_in
from tests.factories import PASSWORD
from tests.followup_scenarios import attend, meet, past_meeting

# Fresh screenshots go to test-artifacts/ (as the other browser tests' do); the README's are
# copied from there to docs/screenshots/ by hand, so a test run never changes tracked files.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
TAP = 44

# 60 letters without a break: a German compound, a made-up title, a company name.
LONG_NAME = "Maximiliana Überschallgeschwindigkeitsflugzeugkonstrukteurinnenverband"
LONG_TITLE = "Quarterly" + "Productmanagementroundtableandnetworkingevening" + "Special"

# Every visible target in the page: its text, size, and whether it sits inside a sentence.
_TARGETS = """() => {
  const out = [];
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('.visually-hidden, .skip-link')) continue;
    out.push({text: (el.innerText || el.value || el.name || el.tagName).trim().slice(0, 40),
              w: r.width, h: r.height, inline: style.display === 'inline'});
  }
  return out;
}"""


@pytest.fixture
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=BASE_ARGS)
    yield browser
    browser.close()


def _context(browser, live_server, size):
    phone = size == PHONE
    context = browser.new_context(
        viewport=size, is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1
    )
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(live_server) else r.abort()
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _check(page, name: str, size: dict) -> list[dict]:
    """Screenshot the page; at phone width, fail on sideways scroll or a small tap target."""
    label = "phone" if size == PHONE else "desktop"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    if size != PHONE:
        return []
    widths = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name}: scrolls sideways at 360 px: {widths}"
    targets = page.evaluate(_TARGETS)
    small = [t for t in targets if not t["inline"] and (t["h"] < TAP or t["w"] < TAP)]
    assert not small, f"{name}: tap targets under {TAP} px: {small}"
    return targets


@pytest.fixture
def scene(make, now):
    """A group with a long-named member, a meeting about to start (check-in open) with forty
    more registrations, and a past meeting where she met someone."""
    organiser = make.organiser()
    group = make.group(organiser, name="Product Circle")
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), now=now, title=LONG_TITLE)
    member = make.member(group, name=LONG_NAME, email="maximiliana@example.com", password=PASSWORD)
    reg = make.registration(meeting, member)
    make.registrations(meeting, 40)
    past = past_meeting(group, now, title=LONG_TITLE + " (March)")
    attend(past, member)
    grace = attend(past, name="Grace Hopper", company="Navy")
    meet(past, member, grace, note_x="Talk about compilers")
    db.session.commit()
    past_reg = next(r for r in past.registrations if r.user_id == member.id)
    return organiser, meeting, reg, past_reg


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_attendee_pages_fit_a_phone(browser, live_server, scene, size):
    organiser, meeting, reg, past_reg = scene
    page = _context(browser, live_server, size)

    page.goto(f"{live_server}/p/{reg.pass_token}")
    assert "You have a place" in page.inner_text("main")
    _check(page, "pass-before", size)

    page.goto(f"{live_server}/p/{past_reg.pass_token}")
    main = page.inner_text("main")
    assert main.index("Your follow-ups") < main.index("This meeting is over")
    assert "Grace Hopper" in main and "You have a place" not in main
    _check(page, "pass-after", size)

    stranger = _context(browser, live_server, size)  # holds no pass: asked for an email
    stranger.goto(f"{live_server}/door/in/{kiosk.poster_code(meeting)}")
    assert stranger.locator("input[name=email]").is_visible()
    _check(stranger, "kiosk-self-checkin", size)

    page.goto(f"{live_server}/door/in/{kiosk.poster_code(meeting)}")  # her pass: checked in
    assert "checked in" in page.inner_text("#outcome")
    _check(page, "kiosk-self-checked-in", size)

    page.goto(f"{live_server}/no/such/page")
    assert "There is nothing here." in page.inner_text("main")
    _check(page, "not-found", size)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_door_manual_list_fits_a_phone(browser, live_server, scene, size):
    organiser, meeting, reg, _ = scene
    page = _context(browser, live_server, size)
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/door/m/{meeting.id}/manual")

    assert "30 of 41 shown — type to search." in page.inner_text("#results")
    targets = _check(page, "door-manual-list", size)
    if size == PHONE:
        buttons = [t for t in targets if t["text"].startswith("Check in")]
        assert len(buttons) == 30 and min(t["h"] for t in buttons) >= TAP
    page.fill("#q", "maximiliana")  # searched as she types (static/js/door.js)
    expect(page.locator("#results")).not_to_contain_text("shown")
    expect(page.locator("#results")).to_contain_text(LONG_NAME)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_member_pages_and_the_cancel_question_fit_a_phone(browser, live_server, scene, size):
    _, meeting, reg, _ = scene
    page = _context(browser, live_server, size)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", reg.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/organise/")
    page.goto(f"{live_server}/")
    _check(page, "member-home", size)

    page.goto(f"{live_server}/m/{meeting.id}")
    page.get_by_role("link", name="I can't make it").click()
    expect(page.locator("#cancel")).to_contain_text("Cancel your place?")
    _check(page, "meeting-cancel-question", size)
    page.get_by_role("button", name="Yes, cancel my place").click()
    expect(page.locator(".flash")).to_contain_text("we've emailed you a confirmation")
