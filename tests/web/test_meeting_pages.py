"""Organiser meeting pages of #13: edit with notices, un-cancel, delete, copy, times asked."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Meeting, OutboxMessage


@pytest.fixture
def organiser(make, auth):
    user = make.organiser()
    auth.login_as(user)
    return user


def form(**overrides):
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
        "reminder_minutes": "1440",
        "recurrence": "none",
        "count": "",
    }
    data.update(overrides)
    return data


def on_the_minute():
    """Meetings made through the form start on a whole minute; so must the factory's."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def mails(kind):
    return count(OutboxMessage, OutboxMessage.kind == kind)


def new(client, group, **overrides):
    return client.post(f"/organise/groups/{group.id}/meetings/new", data=form(**overrides))


# --- times -----------------------------------------------------------------------------------


def test_an_end_before_the_start_is_asked_about_not_guessed(client, make, organiser):
    group = make.group(organiser)
    page = new(client, group, start_time="22:00", end_time="01:00")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "This ends before it starts" in text and "ends the next day" in text
    assert 'value="22:00"' in text and 'value="Pricing night"' in text  # kept as typed
    assert count(Meeting) == 0

    saved = new(client, group, start_time="22:00", end_time="01:00", ends_next_day="y")
    assert saved.status_code == 302
    meeting = db.session.scalar(select(Meeting))
    assert meeting.ends_at - meeting.starts_at == timedelta(hours=3)


def test_end_equal_to_start_is_refused_next_to_the_field(client, make, organiser):
    page = new(client, make.group(organiser), start_time="18:30", end_time="18:30")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "The meeting must end after it starts." in text
    assert 'id="end_time-error"' in text
    assert count(Meeting) == 0


def test_ends_next_day_with_a_later_end_is_refused(client, make, organiser):
    page = new(client, make.group(organiser), ends_next_day="y")
    assert "a meeting of up to 24 hours" in page.get_data(as_text=True)
    assert count(Meeting) == 0


def test_a_date_in_the_past_is_refused_with_a_message(client, make, organiser):
    page = new(client, make.group(organiser), date="2020-03-10")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "That start is in the past" in text
    assert 'id="date-error"' in text
    assert count(Meeting) == 0


def test_the_edit_form_keeps_an_overnight_meeting_overnight(client, make, organiser):
    group = make.group(organiser)
    new(client, group, start_time="22:00", end_time="01:00", ends_next_day="y")
    meeting = db.session.scalar(select(Meeting))
    page = client.get(f"/organise/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]* checked [^>]*name="ends_next_day"', page)
    assert 'value="01:00"' in page


# --- copy and duplicates -----------------------------------------------------------------------


def test_copy_of_the_last_meeting_lands_on_the_next_free_week(client, make, organiser):
    group = make.group(organiser)
    assert new(client, group).status_code == 302
    page = client.get(f"/organise/groups/{group.id}/meetings/new?copy=1").get_data(as_text=True)
    assert 'value="2027-03-16"' in page and 'value="Pricing night"' in page
    assert new(client, group, date="2027-03-16").status_code == 302
    page = client.get(f"/organise/groups/{group.id}/meetings/new?copy=1").get_data(as_text=True)
    assert 'value="2027-03-23"' in page


def test_saving_a_duplicate_warns_and_offers_save_anyway(client, make, organiser):
    group = make.group(organiser)
    new(client, group)
    page = new(client, group, title="Again")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "already has a meeting at that time" in text
    assert 'name="save_duplicate"' in text
    assert count(Meeting) == 1
    assert new(client, group, title="Again", save_duplicate="y").status_code == 302
    assert count(Meeting) == 2


# --- edit with notices ----------------------------------------------------------------------


def test_edit_page_says_how_many_will_be_told(client, make, organiser):
    meeting = make.meeting(make.group(organiser))
    make.registration(meeting)
    make.registration(meeting, status="waitlist")
    make.registration(meeting, status="cancelled")
    page = client.get(f"/organise/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert "the 2 registered people (going and waitlist) will be emailed" in page


def test_a_new_place_is_mailed_and_a_new_title_is_not(client, make, organiser):
    meeting = make.meeting(make.group(organiser), capacity=5, now=on_the_minute())
    make.registration(meeting)
    make.registration(meeting, status="waitlist")
    data = form(
        date=meeting.local(meeting.starts_at).strftime("%Y-%m-%d"),
        start_time=meeting.local(meeting.starts_at).strftime("%H:%M"),
        end_time=meeting.local(meeting.ends_at).strftime("%H:%M"),
        venue="",
        capacity="5",
    )
    url = f"/organise/meetings/{meeting.id}/edit"
    client.post(url, data={**data, "title": "Renamed"})
    assert meeting.title == "Renamed" and mails("meeting_changed") == 0
    done = client.post(url, data={**data, "venue": "Rooftop"}, follow_redirects=True)
    assert "2 registered people will be emailed the new place" in done.get_data(as_text=True)
    assert mails("meeting_changed") == 2


# --- un-cancel and delete ----------------------------------------------------------------------


def test_uncancel_puts_it_back_and_mails_the_registered(client, make, organiser):
    meeting = make.meeting(make.group(organiser), status="cancelled")
    make.registration(meeting)
    page = client.post(f"/organise/meetings/{meeting.id}/uncancel", follow_redirects=True)
    assert "on again; 1 registered people will be emailed" in page.get_data(as_text=True)
    assert meeting.status == "scheduled" and mails("meeting_uncancelled") == 1


def test_delete_a_meeting_nobody_registered_for(client, make, organiser):
    group = make.group(organiser)
    meeting = make.meeting(group, title="Oops")
    response = client.post(f"/organise/meetings/{meeting.id}/delete")
    assert response.location == f"/organise/groups/{group.id}"
    assert db.session.get(Meeting, meeting.id) is None


def test_delete_is_refused_once_anyone_registered(client, make, organiser):
    meeting = make.meeting(make.group(organiser))
    make.registration(meeting, status="cancelled")
    page = client.post(f"/organise/meetings/{meeting.id}/delete", follow_redirects=True)
    assert "cannot be deleted: cancel it instead" in page.get_data(as_text=True)
    assert db.session.get(Meeting, meeting.id) is not None


# --- attackers -------------------------------------------------------------------------------

NEW_ROUTES = ["uncancel", "delete"]


@pytest.mark.parametrize("action", NEW_ROUTES)
def test_another_organisers_meeting_is_404(client, make, organiser, action):
    meeting = make.meeting(make.group(make.organiser()), status="cancelled")
    assert client.post(f"/organise/meetings/{meeting.id}/{action}").status_code == 404
    assert db.session.get(Meeting, meeting.id).status == "cancelled"


@pytest.mark.parametrize("action", NEW_ROUTES)
def test_a_plain_member_gets_404(client, make, auth, action):
    group = make.group()
    meeting = make.meeting(group, status="cancelled")
    auth.login_as(make.member(group))
    assert client.post(f"/organise/meetings/{meeting.id}/{action}").status_code == 404
    assert db.session.get(Meeting, meeting.id).status == "cancelled"


@pytest.mark.parametrize("action", NEW_ROUTES)
def test_anonymous_is_sent_to_sign_in(client, make, action):
    meeting = make.meeting(make.group(), status="cancelled")
    response = client.post(f"/organise/meetings/{meeting.id}/{action}")
    assert response.status_code == 302 and "/login" in response.location
    assert db.session.get(Meeting, meeting.id).status == "cancelled"


@pytest.mark.parametrize("action", NEW_ROUTES)
def test_posts_without_csrf_change_nothing(app, client, make, organiser, action):
    meeting = make.meeting(make.group(organiser), status="cancelled")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/organise/meetings/{meeting.id}/{action}")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert db.session.get(Meeting, meeting.id).status == "cancelled"


def test_past_meeting_details_stay_editable(client, make, organiser):
    meeting = make.meeting(make.group(organiser), starts_in=timedelta(days=-7), now=on_the_minute())
    start = meeting.local(meeting.starts_at)
    data = form(
        title="Fixed title",
        date=start.strftime("%Y-%m-%d"),
        start_time=start.strftime("%H:%M"),
        end_time=meeting.local(meeting.ends_at).strftime("%H:%M"),
        ends_next_day="y" if meeting.local(meeting.ends_at).date() > start.date() else "",
    )
    if not data["ends_next_day"]:
        del data["ends_next_day"]
    assert client.post(f"/organise/meetings/{meeting.id}/edit", data=data).status_code == 302
    assert meeting.title == "Fixed title"
    assert meeting.starts_at < datetime.now(UTC)
