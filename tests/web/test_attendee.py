from html import unescape

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Membership, OutboxMessage, Registration, User
from eventtrack.services import accounts
from tests.qr import decode


def test_landing_page_for_visitors(client):
    page = client.get("/")
    assert page.status_code == 200 and b"/login" in page.data


def test_pass_page_shows_meeting_name_and_qr_and_signs_no_one_in(client, make, now):
    meeting = make.meeting(make.group(), now=now, title="Pricing night")
    reg = make.registration(meeting, make.member(meeting.group, name="Ada Lovelace"))
    page = client.get(f"/p/{reg.pass_token}")
    assert page.status_code == 200
    assert b"Pricing night" in page.data and b"Ada Lovelace" in page.data
    assert f"/p/{reg.pass_token}/qr.svg".encode() in page.data
    # A pass is a narrow capability (docs/security.md): that meeting's pages, not a sign-in.
    assert client.get("/me").status_code == 302
    assert client.get(f"/e/{meeting.id}").status_code == 200


def test_served_qr_decodes_to_exactly_the_pass_url_and_is_cached(client, make, now, tmp_path):
    reg = make.registration(make.meeting(make.group(), now=now))
    response = client.get(f"/p/{reg.pass_token}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    assert "immutable" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert decode(response.data, tmp_path) == f"http://eventtrack.test/p/{reg.pass_token}"
    etag = response.headers["ETag"]
    assert (
        client.get(f"/p/{reg.pass_token}/qr.svg", headers={"If-None-Match": etag}).status_code
        == 304
    )


def test_unknown_or_truncated_pass_is_404(client, make, now):
    reg = make.registration(make.meeting(make.group(), now=now))
    assert client.get("/p/not-a-token").status_code == 404
    assert client.get(f"/p/{reg.pass_token[:-1]}").status_code == 404
    assert client.get(f"/p/{reg.pass_token[:-1]}/qr.svg").status_code == 404


def test_pass_link_never_replaces_a_signed_in_member(client, make, auth, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    alice = make.member(group, name="Alice")
    mallory_pass = make.registration(meeting, make.member(group, name="Mallory"))
    auth.login_as(alice)
    page = client.get(f"/p/{mallory_pass.pass_token}")
    assert b"You are signed in as Alice" in page.data
    me = client.get("/me").data
    assert b'value="Alice"' in me and b'value="Mallory"' not in me


def test_pass_link_never_signs_in_a_password_account(client, make, now):
    group = make.group()
    organiser_pass = make.registration(make.meeting(group, now=now), make.organiser())
    client.get(f"/p/{organiser_pass.pass_token}")
    assert client.get("/organise/").status_code == 302


def test_organiser_opening_a_pass_stays_themselves(client, make, auth, now):
    organiser = make.organiser(email="organiser@example.com")
    group = make.group(organiser)
    reg = make.registration(make.meeting(group, now=now), make.member(group, name="Ada"))
    auth.login()
    page = client.get(f"/p/{reg.pass_token}")
    assert b"as an organiser" in page.data
    assert b"Check in Ada" in page.data and b'action="/door/' in page.data  # one-tap check-in
    assert client.get("/organise/").status_code == 200


def test_calendar_download(client, make, now):
    reg = make.registration(make.meeting(make.group(), now=now, title="Pricing night"))
    response = client.get(f"/p/{reg.pass_token}/calendar.ics")
    assert response.mimetype == "text/calendar"
    assert b"SUMMARY:Pricing night" in response.data
    assert "attachment" in response.headers["Content-Disposition"]


def test_member_rsvps_going_then_cancels(client, make, auth, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    member = make.member(group)
    auth.login_as(member)
    page = client.get(f"/m/{meeting.id}")
    assert page.status_code == 200
    response = client.post(f"/m/{meeting.id}/rsvp", data={"status": "going"})
    reg = db.session.scalar(select(Registration))
    assert response.location == f"/p/{reg.pass_token}" and reg.status == "going"
    client.post(f"/m/{meeting.id}/rsvp", data={"status": "cancelled"})
    assert reg.status == "cancelled"


def test_non_members_cannot_see_or_rsvp_to_a_meeting(client, make, auth, now):
    meeting = make.meeting(make.group(), now=now)
    auth.login_as(make.user())
    assert client.get(f"/m/{meeting.id}").status_code == 404
    assert client.post(f"/m/{meeting.id}/rsvp", data={"status": "going"}).status_code == 404
    assert db.session.scalar(select(Registration)) is None


def test_member_edits_profile_and_consent(client, make, auth):
    member = make.user(name="Mia")
    auth.login_as(member)
    response = client.post(
        "/me",
        data={
            "name": "Mia Member",
            "headline": "Designer",
            "company": "Acme",
            "linkedin_url": "linkedin.com/in/mia",
            "phone": "+49 30 123",
            "share_contact": "y",
            "followup_emails": "",
        },
    )
    assert response.status_code == 302
    assert member.name == "Mia Member" and member.share_contact is True
    assert member.followup_emails is False
    assert member.linkedin_url == "https://linkedin.com/in/mia"


def test_profile_refuses_a_non_linkedin_url(client, make, auth):
    member = make.user(name="Mia")
    auth.login_as(member)
    page = client.post("/me", data={"name": "Mia", "linkedin_url": "https://evil.example/x"})
    assert page.status_code == 200 and b"linkedin.com profile URL" in page.data
    assert member.linkedin_url == ""


def test_one_click_unsubscribe_without_signing_in(client, make):
    member = make.user()
    token = accounts.unsubscribe_token(member)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and member.followup_emails is True  # GET changes nothing
    response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and member.followup_emails is False
    assert client.post("/unsubscribe/forged-token").status_code == 404


def test_pass_email_links_to_the_pass(make, now):
    from eventtrack.services import registrations

    group = make.group()
    registrations.register(make.meeting(group, now=now), make.member(group), now)
    mail = db.session.scalar(select(OutboxMessage))
    reg = db.session.scalar(select(Registration))
    assert f"http://eventtrack.test/p/{reg.pass_token}" in mail.body_text
    assert f"http://eventtrack.test/p/{reg.pass_token}" in mail.body_html
    assert "<img" not in mail.body_html  # no remote images in mail


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@linkedin.com/in/x",
        "https://user@linkedin.com/in/x",
        "https://linkedin.com.evil.example/in/x",
        "javascript://linkedin.com/%0aalert(1)",
        "https://linkedin.com:8443/in/x",
    ],
)
def test_profile_refuses_linkedin_look_alikes(client, make, auth, url):
    member = make.user(name="Mia")
    auth.login_as(member)
    page = client.post("/me", data={"name": "Mia", "linkedin_url": url})
    assert b"linkedin.com profile URL" in page.data
    assert member.linkedin_url == ""


def test_linkedin_url_is_rebuilt_from_its_parts(client, make, auth):
    member = make.user(name="Mia")
    auth.login_as(member)
    client.post("/me", data={"name": "Mia", "linkedin_url": "http://www.LinkedIn.com/in/mia?x=1#f"})
    assert member.linkedin_url == "https://www.linkedin.com/in/mia?x=1"


# --- What a newcomer tripped on (#13) -------------------------------------------------------


def _past_with_a_connection(make, now):
    from tests.followup_scenarios import attend, meet, past_meeting

    meeting = past_meeting(make.group(), now, title="Pricing night")
    ada = attend(meeting, name="Ada Lovelace")
    grace = attend(meeting, name="Grace Hopper", company="Navy")
    meet(meeting, ada, grace)
    db.session.commit()
    reg = db.session.scalar(select(Registration).where(Registration.user_id == ada.id))
    return meeting, reg


def test_pass_after_the_meeting_leads_with_the_follow_up_list(client, make, now):
    meeting, reg = _past_with_a_connection(make, now)

    html = client.get(f"/p/{reg.pass_token}").get_data(as_text=True)

    assert "Your follow-ups" in html and "Grace Hopper" in html
    link = f'href="/f/{meeting.id}"'
    assert link in html
    assert html.index(link) < html.index("This meeting is over")
    assert "You have a place" not in html
    assert f"/p/{reg.pass_token}/qr.svg" not in html
    assert "Connect: who I met tonight" not in html
    assert client.get(f"/f/{meeting.id}").status_code == 200  # the pass opens the list


def test_pass_after_the_meeting_shows_an_organiser_no_follow_ups(client, make, auth, now):
    meeting, reg = _past_with_a_connection(make, now)
    organiser = db.session.scalar(
        select(Membership.user_id).where(
            Membership.group_id == meeting.group_id, Membership.role == "organiser"
        )
    )
    auth.login_as(db.session.get(User, organiser))

    html = client.get(f"/p/{reg.pass_token}").get_data(as_text=True)

    assert "as an organiser" in html and "This meeting is over" in html
    assert "Grace Hopper" not in html and "Your follow-ups" not in html


def test_pass_before_the_meeting_still_shows_the_place_and_qr(client, make, now):
    meeting = make.meeting(make.group(), now=now)
    reg = make.registration(meeting, make.member(meeting.group))
    html = client.get(f"/p/{reg.pass_token}").get_data(as_text=True)
    assert "You have a place" in html and f"/p/{reg.pass_token}/qr.svg" in html
    assert "Your follow-ups" not in html


@pytest.mark.parametrize(
    ("method", "path", "status", "sentence"),
    [
        ("get", "/no/such/page", 404, "There is nothing here."),
        ("get", "/p/not-a-token", 404, "No such pass."),
        ("put", "/", 405, "This page can't be used that way."),
    ],
)
def test_error_pages_use_the_apps_own_words(client, method, path, status, sentence):
    response = getattr(client, method)(path)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == status
    assert sentence in html
    assert "requested URL" not in html and "not allowed for the requested" not in html
    assert "Go to the start page" in html


def test_member_cancels_only_after_confirming_and_is_told_by_mail(client, make, auth, now):
    group = make.group()
    meeting = make.meeting(group, now=now, title="Pricing night")
    member = make.member(group, email="mia@example.com")
    auth.login_as(member)
    client.post(f"/m/{meeting.id}/rsvp", data={"status": "going"})
    reg = db.session.scalar(select(Registration))

    page = client.get(f"/m/{meeting.id}").get_data(as_text=True)
    assert 'name="status" value="cancelled"' not in page  # one tap does not cancel
    assert f'href="/m/{meeting.id}?cancel=1#cancel"' in page

    confirm = client.get(f"/m/{meeting.id}?cancel=1").get_data(as_text=True)
    assert "Cancel your place?" in confirm and "Keep my place" in confirm
    assert 'name="status" value="cancelled"' in confirm
    assert reg.status == "going"  # asking changes nothing

    response = client.post(f"/m/{meeting.id}/rsvp", data={"status": "cancelled"})
    assert response.status_code == 302 and reg.status == "cancelled"
    [mail] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "registration_cancelled")
    ).all()
    assert mail.recipient == "mia@example.com" and mail.subject == "Cancelled: Pricing night"
    assert "Your place at Pricing night" in mail.body_text and "RSVP again" in mail.body_text
    assert f"http://eventtrack.test/m/{meeting.id}" in mail.body_html

    client.post(f"/m/{meeting.id}/rsvp", data={"status": "cancelled"})  # twice: one mail
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "registration_cancelled")
        )
        == 1
    )


def test_leaving_the_waitlist_is_confirmed_in_its_own_words(client, make, auth, now):
    group = make.group()
    meeting = make.meeting(group, now=now, capacity=1)
    make.registration(meeting, make.member(group))
    member = make.member(group)
    auth.login_as(member)
    client.post(f"/m/{meeting.id}/rsvp", data={"status": "going"})

    confirm = client.get(f"/m/{meeting.id}?cancel=1").get_data(as_text=True)
    assert "Leave the waitlist?" in confirm and "Yes, leave the waitlist" in confirm
    client.post(f"/m/{meeting.id}/rsvp", data={"status": "cancelled"})
    mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "registration_cancelled")
    )
    assert "You have left the waitlist" in mail.body_text


def test_waitlist_mail_never_asks_to_cancel_for_the_waitlist(make, now):
    from eventtrack.services import registrations

    group = make.group()
    meeting = make.meeting(group, now=now, capacity=1)
    registrations.register(meeting, make.member(group), now)
    registrations.register(meeting, make.member(group), now)
    going, waiting = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    assert "waitlist gets your place" in going.body_text
    assert "waitlist gets your place" in going.body_html
    for body in (waiting.body_text, waiting.body_html):
        assert "you are on the waitlist" in body
        assert "gets your place" not in body and "cancel" not in body.lower()
