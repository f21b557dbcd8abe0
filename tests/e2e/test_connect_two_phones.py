"""Two phones at one meetup: B opens A's connect URL, taps "We met" with a note; both see each
other under "People I met tonight", and only B sees the note."""

from datetime import timedelta

from playwright.sync_api import expect

from eventtrack.services import connections

from .conftest import screenshot

NOTE = "talked about her Lisbon trip; send the pricing deck"
PAGE_WEIGHT = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return performance.getEntriesByType('resource')
        .reduce((sum, r) => sum + r.decodedBodySize, nav.decodedBodySize);
}"""


def test_two_phones_connect_and_only_the_scanner_sees_the_note(phone, live_server, make, now):
    group = make.group()
    meeting = make.meeting(group, starts_in=timedelta(minutes=-20), title="Pricing night", now=now)
    ada = make.member(group, name="Ada Lovelace", headline="Founder", offers="intros to investors")
    grace = make.member(group, name="Grace Hopper", asks="intros to investors")
    ada_reg = make.registration(meeting, ada, checked_in_at=now - timedelta(minutes=5))
    grace_reg = make.registration(meeting, grace, checked_in_at=now - timedelta(minutes=2))

    a, b = phone(name="a"), phone(name="b")
    a.goto(f"{live_server}/p/{ada_reg.pass_token}")  # opening the pass signs Ada in
    b.goto(f"{live_server}/p/{grace_reg.pass_token}")

    # A shows her connect code on her event page.
    a.goto(f"{live_server}/e/{meeting.id}")
    qr = a.get_by_role("img", name="My connect code")
    expect(qr).to_be_visible()
    code_token = qr.get_attribute("src").split("/c/")[1].split("/")[0]
    connect_url = connections.connect_url(code_token)
    assert connect_url.startswith(live_server)
    expect(a.locator("#met")).to_contain_text("Nobody yet")
    screenshot(a, "connect-a-event")

    # B's camera app opens the URL in the QR.
    b.goto(connect_url)
    expect(b.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    weight = b.evaluate(PAGE_WEIGHT)
    assert 0 < weight < 30_000, f"connect page weighs {weight} bytes"
    button = b.get_by_role("button", name="We met")
    box, viewport = button.bounding_box(), b.viewport_size
    assert box["height"] >= 48 and box["width"] > viewport["width"] * 0.8  # thumb-sized
    screenshot(b, "connect-b-card")
    b.get_by_label("Private note (optional)").fill(NOTE)
    button.tap()

    expect(b.get_by_text("Saved: you met Ada Lovelace.")).to_be_visible()
    met_b = b.locator("#met")
    expect(met_b).to_contain_text("Ada Lovelace")
    expect(met_b.get_by_label("My private note")).to_have_value(NOTE)
    screenshot(b, "connect-b-met")

    a.reload()
    met_a = a.locator("#met")
    expect(met_a).to_contain_text("Grace Hopper")
    expect(met_a.get_by_label("My private note")).to_have_value("")
    assert "Lisbon" not in a.content()
    screenshot(a, "connect-a-met")

    assert a.offsite_requests == [] and b.offsite_requests == []
