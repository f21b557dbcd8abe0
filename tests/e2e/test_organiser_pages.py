"""The organiser's pages of the weekly routine (#13) in a real browser, at phone width (360 px)
and at desktop width: a group of sixty members (so pages page), long unbroken names, the meeting
page with its tick list, mail states and messages, the invitation page. Nothing scrolls
sideways at 360 px and every tap target is at least 44 px (``test_phone_pages._check``);
screenshots go to test-artifacts/screenshots/."""

from datetime import timedelta

import pytest

from eventtrack.extensions import db
from eventtrack.services import registrations
from eventtrack.transaction import atomic
from tests.e2e.test_door_scanner import sign_in
from tests.e2e.test_phone_pages import (
    DESKTOP,
    LONG_NAME,
    LONG_TITLE,
    PHONE,
    _check,
    _context,
    browser,  # noqa: F401  (the fixture)
)


@pytest.fixture
def group_of_sixty(make, now):
    organiser = make.organiser()
    group = make.group(organiser, name="Product Circle of " + LONG_NAME)
    long_named = make.member(group, name=LONG_NAME, email="maximiliana@example.com")
    people = [make.member(group, name=f"Member {i:02d}") for i in range(59)]
    meeting = make.meeting(group, starts_in=timedelta(days=3), now=now, title=LONG_TITLE)
    with atomic():
        registrations.register_many(meeting, [long_named, *people[:20]], now)
    db.session.commit()
    return organiser, group, meeting, long_named


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_organisers_routine_fits_a_phone(browser, live_server, group_of_sixty, size):  # noqa: F811
    organiser, group, meeting, long_named = group_of_sixty
    page = _context(browser, live_server, size)
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/organise/")
    _check(page, "organiser-home", size)

    page.goto(f"{live_server}/organise/groups/{group.id}")
    assert "1–50 of 61" in page.inner_text("main")  # paged, with the count (and the organiser)
    _check(page, "organiser-group", size)

    page.goto(f"{live_server}/organise/groups/{group.id}?q=MAXIMILIANA")
    assert LONG_NAME in page.inner_text("main")
    _check(page, "organiser-group-search", size)

    page.goto(f"{live_server}/organise/groups/{group.id}/edit")
    _check(page, "organiser-group-edit", size)

    page.goto(f"{live_server}/organise/groups/{group.id}/members/{long_named.id}")
    _check(page, "organiser-member-edit", size)

    page.goto(f"{live_server}/organise/groups/{group.id}/members/{long_named.id}/remove")
    _check(page, "organiser-member-remove", size)

    page.goto(f"{live_server}/organise/meetings/{meeting.id}")
    main = page.inner_text("main")
    assert "21" in main and LONG_TITLE in main
    _check(page, "organiser-meeting", size)

    page.goto(f"{live_server}/organise/meetings/{meeting.id}/message")
    _check(page, "organiser-message", size)

    page.goto(f"{live_server}/organise/meetings/{meeting.id}/edit")
    _check(page, "organiser-meeting-edit", size)

    page.goto(f"{live_server}/organise/groups/{group.id}/meetings/new?copy=1")
    _check(page, "organiser-meeting-copy", size)

    stranger = _context(browser, live_server, size)
    stranger.goto(f"{live_server}/i/{meeting.invite_token}")
    assert LONG_TITLE in stranger.inner_text("main")
    _check(stranger, "invite", size)
