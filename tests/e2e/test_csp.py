"""The Content-Security-Policy in a real browser: the door scanner, kiosk, live door view, check-in
list and the attendee pages still work under it, and the browser reports no violation."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_door_scanner import open_door, sign_in

# Reports every violation to the console, where the listener below collects it with the
# browser's own "Refused to … Content Security Policy" messages. Playwright injects this through
# the DevTools protocol, so the policy does not apply to it.
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('securitypolicyviolation: ' + e.effectiveDirective + ' blocked ' + e.blockedURI
                + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""
VIOLATION = re.compile(r"Content.Security.Policy|securitypolicyviolation", re.IGNORECASE)


def watch_csp(page) -> list[str]:
    """Collect, from now on, every policy violation ``page`` reports, across navigations."""
    violations = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda m: VIOLATION.search(m.text) and violations.append(m.text))
    return violations


@pytest.fixture
def door(make, now):
    return open_door(make, now)


def test_a_blocked_inline_script_is_reported(phone, live_server):
    page = phone(name="canary")
    violations = watch_csp(page)
    page.goto(f"{live_server}/login")

    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.ran = true'; document.body.append(s); }"""
    )

    expect(page.locator("body")).to_be_visible()
    page.wait_for_timeout(200)  # the event is queued after the element is inserted
    assert page.evaluate("window.ran") is None
    assert any("script-src" in v for v in violations), violations


def test_door_scanner_decodes_a_pass_under_the_policy(phone, live_server, door):
    organiser, meeting, reg = door
    page = phone(camera_data=f"{live_server}/p/{reg.pass_token}", name="csp-scanner")
    violations = watch_csp(page)
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/door/m/{meeting.id}/scan")

    # The decoder runs in a Worker that qr-scanner starts from a blob: URL.
    try:
        expect(page.locator("#result")).to_have_class(re.compile(r"\bscan-ok\b"), timeout=15_000)
    except AssertionError:
        raise AssertionError(f"no scan; policy violations: {violations}") from None
    expect(page.locator("#result-text")).to_have_text("Checked in: Ana Ruiz")
    assert violations == []


def test_attendee_scanner_starts_the_camera_under_the_policy(phone, live_server):
    page = phone(camera_data="https://example.test/not-a-door-code", name="csp-scan-in")
    violations = watch_csp(page)

    page.goto(f"{live_server}/door/scan-in")

    expect(page.locator("#camera-state")).to_have_text("Point the camera at the code on the screen")
    try:
        expect(page.locator("#result-text")).to_have_text(
            "That is not the check-in code of this door.", timeout=15_000
        )
    except AssertionError:
        raise AssertionError(f"no scan; policy violations: {violations}") from None
    assert violations == []


def test_kiosk_shows_its_code_under_the_policy(phone, live_server, door):
    organiser, meeting, _ = door
    page = phone(name="csp-kiosk")
    violations = watch_csp(page)
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/door/m/{meeting.id}/kiosk")

    page.wait_for_function("document.getElementById('kiosk-qr').naturalWidth > 0")
    # kiosk.js loads a fresh code when the next step starts (up to 30 s away), or 3 s after
    # the image failed to load: fake a failure to see it at work.
    with page.expect_response(re.compile(r"/kiosk/qr\.svg\?t=")):
        page.evaluate("document.getElementById('kiosk-qr').dispatchEvent(new Event('error'))")
    assert violations == []


def test_live_door_view_refreshes_under_the_policy(phone, live_server, door):
    organiser, meeting, _ = door
    page = phone(name="csp-live")
    violations = watch_csp(page)
    sign_in(page, live_server, organiser)

    with page.expect_response(lambda r: "partial=1" in r.url and r.ok, timeout=10_000):
        page.goto(f"{live_server}/door/m/{meeting.id}")  # door.js polls every 5 s

    expect(page.locator("#live")).to_be_visible()
    assert violations == []


def test_check_in_list_searches_as_you_type_under_the_policy(phone, live_server, door):
    organiser, meeting, _ = door
    page = phone(name="csp-manual")
    violations = watch_csp(page)
    sign_in(page, live_server, organiser)
    page.goto(f"{live_server}/door/m/{meeting.id}/manual")
    expect(page.locator("#results")).to_contain_text("Ana Ruiz")

    page.locator("#q").press_sequentially("zzz")

    expect(page.locator("#results")).to_contain_text("Nobody registered matches “zzz”")
    assert page.url.endswith("/manual")  # door.js swapped the list in; no form submit
    assert violations == []


def test_other_pages_load_without_violations(phone, live_server, door):
    organiser, meeting, reg = door
    page = phone(name="csp-pages")
    violations = watch_csp(page)
    sign_in(page, live_server, organiser)
    organiser_pages = [
        "/organise/",
        f"/organise/meetings/{meeting.id}",
        f"/door/m/{meeting.id}/poster",
        "/no-such-page",
    ]
    for path in organiser_pages:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")

    attendee = phone(name="csp-attendee")
    attendee_violations = watch_csp(attendee)
    for path in [f"/p/{reg.pass_token}", f"/m/{meeting.id}", f"/e/{meeting.id}", "/me"]:
        attendee.goto(f"{live_server}{path}")
        attendee.wait_for_load_state("networkidle")

    assert violations == attendee_violations == []
