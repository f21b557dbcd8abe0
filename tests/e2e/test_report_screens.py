"""The report pages in a real browser (#14), at phone width (360 px) and at desktop width: the
meeting report with its networking picture, the group report, the member's own record. A seeded
group of 25 people over six meetings, with connections, first-timers, a walk-in, people who met
nobody and members drifting away. Nothing scrolls sideways at 360 px, every tap target is at
least 44 px (``test_phone_pages._check``); screenshots go to test-artifacts/screenshots/, and
the README's (docs/screenshots/report-*.png, member-record.png) are copied from there."""

import random
from datetime import timedelta

import pytest

from eventtrack.extensions import db
from eventtrack.models import Connection
from tests.e2e.test_door_scanner import sign_in
from tests.e2e.test_phone_pages import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    _check,
    _context,
    browser,  # noqa: F401  (the fixture)
)
from tests.factories import PASSWORD
from tests.followup_scenarios import past_meeting

NAMES = [
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Margaret Hamilton",
    "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth", "Frances Allen", "John McCarthy",
    "Radia Perlman", "Ken Thompson", "Dennis Ritchie", "Hedy Lamarr", "Claude Shannon",
    "Anita Borg", "Guido van Rossum", "Sophie Wilson", "Jean Bartik", "Karen Spärck Jones",
    "Leslie Lamport", "Shafi Goldwasser", "Tim Berners-Lee", "Ivan Sutherland", "Özlem Yılmaz",
]  # fmt: skip


def _attend(meeting, user, minute, how="manual"):
    from tests import factories

    factories.registration(
        meeting,
        user,
        checked_in_at=meeting.starts_at + timedelta(minutes=minute),
        checkin_how=how,
    )


@pytest.fixture
def seeded(make, now):
    """Six weekly meetings; attendance grows from 8 to 20; the last has 4 first-timers (two of
    them met nobody), a walk-in and 30-odd connections; three regulars stopped after the third."""
    rng = random.Random(14)
    organiser = make.organiser()
    group = make.group(organiser, name="Product Circle")
    people = [
        make.member(group, name=n, email=f"member{i}@example.com", password=PASSWORD)
        for i, n in enumerate(NAMES)
    ]
    meetings = [
        past_meeting(
            group, now, ago=timedelta(weeks=6 - i, hours=3), title=f"Product night {i + 1}"
        )
        for i in range(6)
    ]
    drifting = people[17:20]
    away = {p.id for p in drifting}  # by id: UserMixin's == compares session ids
    sizes = [8, 11, 13, 15, 17, 20]
    for i, (meeting, size) in enumerate(zip(meetings, sizes, strict=True)):
        present = people[:size] if i < 5 else people[:16] + people[20:24]
        if i < 3:
            present = [*present, *drifting]
        elif i >= 3:
            present = [p for p in present if p.id not in away]
        for p in present:
            how = "walk_in" if (i == 5 and p.id == people[23].id) else "manual"
            _attend(meeting, p, rng.randint(-20, 45), how)
        alone = {people[20].id, people[21].id} if i == 5 else set()
        mingling = [p for p in present if p.id not in alone]
        pairs = set()
        while len(pairs) < len(mingling) * 3 // 2:
            a, b = rng.sample(mingling, 2)
            pairs.add((min(a.id, b.id), max(a.id, b.id)))
        for a, b in sorted(pairs):
            db.session.add(
                Connection(
                    meeting_id=meeting.id,
                    user_a_id=a,
                    user_b_id=b,
                    how="scan",
                    created_at=meeting.starts_at + timedelta(minutes=30),
                )
            )
        db.session.commit()
    return organiser, group, meetings[-1], people


SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


@SIZES
def test_the_meeting_report_and_its_picture(browser, live_server, seeded, size):  # noqa: F811
    organiser, group, meeting, people = seeded
    page = _context(browser, live_server, size)
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/organise/meetings/{meeting.id}/report")

    main = page.inner_text("main")
    assert "How the meeting went" in main
    assert "20\nchecked in" in main and "1\nwalk-ins" in main
    assert "Jean Bartik" not in main  # drifting: not at this meeting
    reach_out = page.inner_text("#met-nobody")
    assert "Leslie Lamport" in reach_out and "Shafi Goldwasser" in reach_out
    assert page.locator("svg.network .person").count() == 20
    assert page.locator("svg.network .met-nobody").count() == 2
    assert page.locator("svg.network .first-timer").count() == 4
    assert page.locator("svg.network path.connections").count() == 1
    assert page.locator("svg.chart").count() == 2  # arrivals, connections per attendee
    _check(page, "report-meeting", size)
    if size == DESKTOP:
        page.locator("figure.network-figure").screenshot(
            path=str(SCREENSHOTS / "report-network-desktop.png")
        )


@SIZES
def test_the_group_report(browser, live_server, seeded, size):  # noqa: F811
    organiser, group, meeting, people = seeded
    page = _context(browser, live_server, size)
    sign_in(page, live_server, organiser)

    page.goto(f"{live_server}/organise/groups/{group.id}/report")

    main = page.inner_text("main")
    assert "How the series goes" in main
    assert page.locator("svg.chart rect.bar").count() == 12
    drifting = page.inner_text("#drifting")
    for name in ("Sophie Wilson", "Jean Bartik", "Karen Spärck Jones"):
        assert name in drifting
    assert "Ada Lovelace" not in drifting
    _check(page, "report-group", size)

    page.get_by_role("link", name="Message them all").click()
    page.wait_for_url("**/message-drifting")
    main = page.inner_text("main")
    assert "To 3 members" in main and "Plan the next meeting first" in main
    _check(page, "report-message-drifting", size)


@SIZES
def test_the_members_own_record(browser, live_server, seeded, size):  # noqa: F811
    _, _, _, people = seeded
    page = _context(browser, live_server, size)
    sign_in(page, live_server, people[0])

    page.goto(f"{live_server}/")
    page.get_by_role("link", name="My record").click()
    page.wait_for_url("**/me/record")

    main = page.inner_text("main")
    assert "6\nmeetings attended" in main
    assert "Product night 6" in main and "Product night 1" in main
    assert page.locator("svg.chart").count() == 1
    _check(page, "member-record", size)
