"""The report pages through the test client: the meeting report and its networking picture,
the group report, the member's own record; who may see each (another organiser and a member
get 404, nobody signed in is sent to sign in, a pass link is not a sign-in)."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from tests.followup_scenarios import attend, meet, past_meeting

SECRET_NOTE = "owes me a pricing deck"


@pytest.fixture
def series(make, now):
    """Six weekly meetings of one group. Dora came to 1–3 and missed 4–6 (drifting); Ravi and
    Sam came to all and met at each; at the sixth, Nell came for the first time and met nobody,
    Walt walked in and met Ravi, Cleo cancelled, and a member named like markup met nobody."""
    organiser = make.organiser()
    group = make.group(organiser, name="Product Circle")
    dora = make.member(group, name="Dora Drift")
    ravi = make.member(group, name="Ravi Regular")
    sam = make.member(group, name="Sam Steady")
    meetings = [
        past_meeting(group, now, ago=timedelta(weeks=6 - i, hours=3), title=f"Meetup {i + 1}")
        for i in range(6)
    ]
    for i, m in enumerate(meetings):
        attend(m, ravi)
        attend(m, sam)
        if i < 3:
            attend(m, dora)
        meet(m, ravi, sam, note_x=SECRET_NOTE)
    last = meetings[-1]
    nell = attend(last, name="Nell Newcomer")
    odd = attend(last, name='<script>alert("x")</script> & Co')
    walt = make.member(group, name="Walt Walkin")
    make.registration(
        last, walt, checked_in_at=last.starts_at + timedelta(minutes=25), checkin_how="walk_in"
    )
    meet(last, ravi, walt)
    make.registration(last, make.member(group, name="Cleo Cancel"), status="cancelled")
    return {
        "organiser": organiser,
        "group": group,
        "meetings": meetings,
        "last": last,
        "dora": dora,
        "ravi": ravi,
        "nell": nell,
        "odd": odd,
        "walt": walt,
    }


def figure(html: str, label: str) -> str:
    """The number shown above ``label`` in a page's counts."""
    match = re.search(
        r'<span class="count-n">([^<]*)(?:<small>[^<]*</small>)?</span>\s*' + label, html
    )
    assert match, f"no figure for {label!r}"
    return match.group(1).strip()


def test_the_meeting_report_shows_every_figure(client, auth, series):
    auth.login_as(series["organiser"])

    response = client.get(f"/organise/meetings/{series['last'].id}/report")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert figure(html, "checked in") == "5"  # Ravi, Sam, Nell, the odd name, Walt
    assert figure(html, "walk-ins") == "1"
    assert figure(html, "cancelled") == "1"
    assert figure(html, "registered") == "4"  # the walk-in came without a registration
    assert figure(html, "no-shows") == "0"
    assert figure(html, "first-timers") == "3"
    assert figure(html, "returning") == "2"
    assert figure(html, "connections") == "2"
    assert figure(html, "met nobody") == "2"
    assert figure(html, "newcomers who met nobody") == "2"
    reach_out = html[html.index('id="met-nobody"') :]
    assert "Nell Newcomer" in reach_out
    assert f"/organise/groups/{series['group'].id}/members/{series['nell'].id}" in reach_out
    assert "Arrivals: check-ins per 10 minutes" in html and "Connections per attendee" in html
    assert SECRET_NOTE not in html


def test_the_meeting_report_draws_the_picture_with_a_dot_per_person(client, auth, series):
    auth.login_as(series["organiser"])

    html = client.get(f"/organise/meetings/{series['last'].id}/report").get_data(as_text=True)

    svg = html[html.index('<svg xmlns="http://www.w3.org/2000/svg" class="network"') :]
    svg = svg[: svg.index("</svg>") + 6]
    root = ET.fromstring(svg)
    dots = [e for e in root.iter() if "person" in (e.get("class") or "").split()]
    assert len(dots) == 5
    nobody = {int(e.get("data-user-id")) for e in dots if "met-nobody" in e.get("class")}
    assert nobody == {series["nell"].id, series["odd"].id}
    assert "Nell Newcomer" in svg


def test_names_are_escaped_on_the_report(client, auth, series):
    auth.login_as(series["organiser"])

    html = client.get(f"/organise/meetings/{series['last'].id}/report").get_data(as_text=True)

    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(" in html


def test_the_network_picture_is_an_svg_file_kept_by_no_cache(client, auth, series):
    auth.login_as(series["organiser"])

    response = client.get(f"/organise/meetings/{series['last'].id}/network.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    root = ET.fromstring(response.get_data(as_text=True))
    assert len([e for e in root.iter() if "person" in (e.get("class") or "")]) == 5
    assert SECRET_NOTE not in response.get_data(as_text=True)


def test_the_group_report_shows_attendance_retention_and_who_is_drifting(client, auth, series):
    auth.login_as(series["organiser"])

    response = client.get(f"/organise/groups/{series['group'].id}/report")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Attendance per meeting" in html
    assert html.count('class="bar"') == 12  # registered and checked in, six meetings
    for i in range(1, 7):
        assert f"Meetup {i}" in html
    assert figure(html, "pairs have met") == "2"  # Ravi–Sam, Ravi–Walt
    drifting = html[html.index('id="drifting"') :]
    assert "Dora Drift" in drifting and "Ravi Regular" not in drifting
    third = series["meetings"][2].starts_at
    assert third.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d %b %Y") in drifting
    member_page = f"/organise/groups/{series['group'].id}/members/{series['dora'].id}"
    assert member_page in drifting
    assert f"/organise/groups/{series['group'].id}/message-drifting" in drifting


def test_the_member_sees_their_own_record_with_the_people_behind_it(client, auth, series):
    auth.login_as(series["ravi"])

    response = client.get("/me/record")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert figure(html, "meetings attended") == "6"
    assert figure(html, "people met") == "2"  # Sam, Walt
    assert figure(html, "of them met again later") == "1"  # Sam
    assert "Sam Steady" in html and "Walt Walkin" in html
    assert SECRET_NOTE not in html  # notes live on the follow-up list, not here
    assert 'href="/me/record"' in client.get("/").get_data(as_text=True)


def test_the_reports_are_linked_from_the_meeting_and_group_pages(client, auth, series):
    auth.login_as(series["organiser"])
    meeting_id, group_id = series["last"].id, series["group"].id

    assert f"/organise/meetings/{meeting_id}/report" in client.get(
        f"/organise/meetings/{meeting_id}"
    ).get_data(as_text=True)
    assert f"/organise/groups/{group_id}/report" in client.get(
        f"/organise/groups/{group_id}"
    ).get_data(as_text=True)


def _organiser_urls(series):
    meeting_id, group_id = series["last"].id, series["group"].id
    return [
        f"/organise/meetings/{meeting_id}/report",
        f"/organise/meetings/{meeting_id}/network.svg",
        f"/organise/groups/{group_id}/report",
        f"/organise/groups/{group_id}/message-drifting",
    ]


@pytest.mark.parametrize("who", ["another_organiser", "member"])
def test_the_organiser_reports_are_missing_for_anyone_else(client, auth, make, series, who):
    other = make.organiser() if who == "another_organiser" else series["ravi"]
    if who == "another_organiser":
        make.group(other, name="Their own group")
    auth.login_as(other)

    for url in _organiser_urls(series):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Nell" not in response.get_data(as_text=True)


def test_nobody_signed_in_is_sent_to_sign_in(client, series):
    for url in [*_organiser_urls(series), "/me/record"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_a_pass_link_is_not_a_sign_in_for_the_record(client, series):
    reg = series["last"].registrations[0]
    assert client.get(f"/p/{reg.pass_token}").status_code == 200  # the pass works …

    response = client.get("/me/record")  # … and is not the member's account

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_meeting_or_group_is_missing(client, auth, series):
    auth.login_as(series["organiser"])

    assert client.get("/organise/meetings/999999/report").status_code == 404
    assert client.get("/organise/meetings/999999/network.svg").status_code == 404
    assert client.get("/organise/groups/999999/report").status_code == 404


def test_a_meeting_nobody_came_to_yet_has_a_plain_report(client, auth, make, series, now):
    upcoming = make.meeting(series["group"], starts_in=timedelta(days=3), now=now)
    auth.login_as(series["organiser"])

    html = client.get(f"/organise/meetings/{upcoming.id}/report").get_data(as_text=True)

    assert figure(html, "checked in") == "0"
    assert "Nobody has checked in yet." in html
    assert "The picture appears once people check in." in html
    db.session.rollback()


def test_one_message_reaches_everyone_drifting_away_once(client, auth, make, series, now):
    upcoming = make.meeting(series["group"], starts_in=timedelta(days=5), now=now, title="Next")
    auth.login_as(series["organiser"])
    url = f"/organise/groups/{series['group'].id}/message-drifting"

    form = client.get(url)
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "Dora Drift" in html and "Ravi Regular" not in html
    assert "We miss you at Product Circle" in html and "Next" in html

    data = {"subject": "We miss you", "body": "Come to the next one!"}
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/groups/{series['group'].id}/report#drifting")
    assert client.post(url, data=data).status_code == 302  # a double click

    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "message")).all()
    assert [(m.recipient, m.meeting_id, m.subject) for m in mail] == [
        (series["dora"].email, upcoming.id, "We miss you")
    ]
    assert "List-Unsubscribe" in (mail[0].headers or {})


def test_messaging_the_drifting_needs_a_next_meeting(client, auth, series):
    auth.login_as(series["organiser"])
    url = f"/organise/groups/{series['group'].id}/message-drifting"

    response = client.post(url, data={"subject": "Hi", "body": "Come back"})

    assert response.status_code == 422
    assert "Plan the next meeting first" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("who", ["another_organiser", "member"])
def test_nobody_else_may_message_the_drifting(client, auth, make, series, who, now):
    make.meeting(series["group"], starts_in=timedelta(days=5), now=now)
    auth.login_as(make.organiser() if who == "another_organiser" else series["ravi"])
    url = f"/organise/groups/{series['group'].id}/message-drifting"

    assert client.get(url).status_code == 404
    assert client.post(url, data={"subject": "Hi", "body": "Come back"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
