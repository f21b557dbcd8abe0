import io

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Group, Meeting, Membership, OutboxMessage, Registration


@pytest.fixture
def organiser(make, auth):
    user = make.organiser(email="organiser@example.com")
    auth.login()
    return user


def test_create_group_then_see_it(client, organiser):
    response = client.post(
        "/organise/groups/new",
        data={"name": "Berlin Product Circle", "description": "", "timezone": "Europe/Berlin"},
    )
    group = db.session.scalar(select(Group))
    assert response.location == f"/organise/groups/{group.id}"
    page = client.get(response.location)
    assert b"Berlin Product Circle" in page.data


def test_another_organisers_objects_are_404(client, make, organiser):
    other_group = make.group(make.organiser())
    meeting = make.meeting(other_group)
    reg = make.registration(meeting)
    assert client.get(f"/organise/groups/{other_group.id}").status_code == 404
    assert client.get(f"/organise/meetings/{meeting.id}").status_code == 404
    assert client.get(f"/organise/meetings/{meeting.id}/edit").status_code == 404
    assert client.post(f"/organise/registrations/{reg.id}/cancel").status_code == 404
    assert client.post(f"/organise/meetings/{meeting.id}/cancel").status_code == 404
    assert meeting.status == "scheduled" and reg.status == "going"


def test_add_member_one_by_one(client, make, organiser):
    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "Ada Lovelace", "email": "ada@example.com", "company": "Engines"},
        follow_redirects=True,
    )
    assert b"Ada Lovelace added." in response.data
    again = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "Ada", "email": "ADA@example.com"},
        follow_redirects=True,
    )
    assert b"already a member" in again.data


def test_add_member_with_bad_email_explains(client, make, organiser):
    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "Ada", "email": "nope"},
        follow_redirects=True,
    )
    assert b"Invalid email address" in response.data


def test_csv_upload_imports_members(client, make, organiser):
    group = make.group(organiser)
    csv = b"name,email,company\nAda,ada@example.com,Engines\nGrace,grace@example.com,\n"
    response = client.post(
        f"/organise/groups/{group.id}/members/import",
        data={"file": (io.BytesIO(csv), "members.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert b"Imported: 2 new, 0 already members." in response.data
    count = db.session.scalar(select(func.count()).where(Membership.group_id == group.id))
    assert count == 3


def test_csv_upload_with_errors_lists_them_and_imports_nothing(client, make, organiser):
    group = make.group(organiser)
    csv = b"Ada,ada@example.com\nBad,not-an-email\n"
    response = client.post(
        f"/organise/groups/{group.id}/members/import",
        data={"file": (io.BytesIO(csv), "members.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert b"Line 2" in response.data and b"not-an-email" in response.data
    assert db.session.scalar(select(func.count()).where(Membership.group_id == group.id)) == 1


def _meeting_form(**overrides):
    data = {
        "title": "Pricing night",
        "description": "Talks",
        "venue": "Factory",
        "date": "2027-03-09",
        "start_time": "18:30",
        "end_time": "21:00",
        "timezone": "Europe/Berlin",
        "capacity": "30",
        "checkin_opens_minutes": "60",
        "checkin_closes_minutes": "0",
        "followup_delay_minutes": "120",
        "recurrence": "none",
        "count": "6",
    }
    data.update(overrides)
    return data


def test_create_meeting_and_series(client, make, organiser):
    group = make.group(organiser)
    response = client.post(f"/organise/groups/{group.id}/meetings/new", data=_meeting_form())
    assert response.status_code == 302
    client.post(
        f"/organise/groups/{group.id}/meetings/new",
        data=_meeting_form(title="Monthly", date="2027-03-16", recurrence="monthly", count="3"),
    )
    titles = db.session.scalars(select(Meeting.title).order_by(Meeting.id)).all()
    assert titles == ["Pricing night", "Monthly", "Monthly", "Monthly"]
    meeting = db.session.scalar(select(Meeting).order_by(Meeting.id).limit(1))
    assert meeting.local(meeting.starts_at).strftime("%H:%M") == "18:30"


def test_meeting_ending_the_next_day_runs_past_midnight(client, make, organiser):
    group = make.group(organiser)
    client.post(
        f"/organise/groups/{group.id}/meetings/new",
        data=_meeting_form(start_time="22:00", end_time="01:00", ends_next_day="y"),
    )
    meeting = db.session.scalar(select(Meeting))
    assert (meeting.ends_at - meeting.starts_at).total_seconds() == 3 * 3600


def test_new_meeting_as_copy_of_last_is_prefilled(client, make, organiser):
    group = make.group(organiser)
    make.meeting(group, title="Last one", venue="Rooftop")
    page = client.get(f"/organise/groups/{group.id}/meetings/new?copy=1")
    assert b'value="Last one"' in page.data and b'value="Rooftop"' in page.data


def test_edit_meeting(client, make, organiser):
    group = make.group(organiser)
    meeting = make.meeting(group)
    client.post(f"/organise/meetings/{meeting.id}/edit", data=_meeting_form(title="Renamed"))
    assert meeting.title == "Renamed"


def test_register_members_and_their_passes_go_by_mail_only(client, make, organiser):
    group = make.group(organiser)
    meeting = make.meeting(group, capacity=1)
    a, b = make.member(group, name="Ada"), make.member(group, name="Bob")
    response = client.post(
        f"/organise/meetings/{meeting.id}/registrations",
        data={"user_ids": [a.id, b.id]},
        follow_redirects=True,
    )
    assert b"Registered 1. 1 on the waitlist" in response.data
    regs = db.session.scalars(select(Registration).order_by(Registration.id)).all()
    assert [r.status for r in regs] == ["going", "waitlist"]
    # Organisers never see a pass: it goes to the member's inbox; the page shows the mail.
    assert regs[0].pass_token.encode() not in response.data
    assert regs[1].pass_token.encode() not in response.data
    assert response.data.count(b"Queued") == 2
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_cannot_register_a_non_member(client, make, organiser):
    group = make.group(organiser)
    meeting = make.meeting(group)
    stranger = make.user()
    client.post(f"/organise/meetings/{meeting.id}/registrations", data={"user_ids": [stranger.id]})
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_cancel_meeting_from_its_page(client, make, organiser):
    meeting = make.meeting(make.group(organiser))
    make.registration(meeting)
    response = client.post(f"/organise/meetings/{meeting.id}/cancel", follow_redirects=True)
    assert meeting.status == "cancelled"
    assert b"1 registered people will be emailed" in response.data


def test_names_are_escaped_on_organiser_pages(client, make, organiser):
    group = make.group(organiser)
    meeting = make.meeting(group)
    person = make.member(group, name="<script>alert(1)</script>")
    make.registration(meeting, person, checked_in_at=meeting.starts_at)  # shows their name
    page = client.get(f"/organise/meetings/{meeting.id}")
    assert b"<script>alert(1)" not in page.data
    assert b"&lt;script&gt;alert(1)" in page.data
