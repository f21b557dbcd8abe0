"""The shareable invitation link /i/<token>: a member signs in by mailed link and RSVPs; anyone
else learns nothing about who is in the group."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import LoginLink, OutboxMessage, Registration
from eventtrack.services import registrations


@pytest.fixture
def invited(make, now):
    group = make.group(name="Product Circle")
    meeting = make.meeting(group, now=now, title="Pricing night", capacity=1)
    member = make.member(group, name="Secret Member", email="member@example.com")
    registrations.register(meeting, make.member(group, name="Already Going"), now)
    db.session.commit()
    return meeting, member


def _login_link_mails():
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "login_link").order_by(OutboxMessage.id)
    ).all()


def test_the_invitation_shows_the_meeting_and_nobody_in_it(client, invited):
    meeting, _ = invited
    page = client.get(f"/i/{meeting.invite_token}")
    assert page.status_code == 200
    assert "Pricing night" in page.text and "Product Circle" in page.text
    for private in ("Secret Member", "Already Going", "member@example.com", "going", "waitlist"):
        assert private not in page.text
    assert 'name="email"' in page.text


@pytest.mark.parametrize(
    "token", ["unknown-token-1234567890", "x", "a" * 80, "abc%20defghijklmnopqrs", "1"]
)
def test_an_unknown_or_garbled_token_is_404(client, invited, token):
    assert client.get(f"/i/{token}").status_code == 404
    assert client.post(f"/i/{token}", data={"email": "member@example.com"}).status_code == 404
    assert _login_link_mails() == []


def test_the_meeting_id_is_no_invitation(client, invited):
    meeting, _ = invited
    assert client.get(f"/i/{meeting.id}").status_code == 404


def test_the_answer_is_the_same_for_a_member_an_outsider_and_a_stranger(client, make, invited):
    meeting, member = invited
    make.user(email="outsider@example.com")
    url = f"/i/{meeting.invite_token}"
    answers = {}
    for email in (member.email, "outsider@example.com", "stranger@example.com"):
        text = client.post(url, data={"email": email}).text
        answers[email] = text.replace(email, "EMAIL")
    assert len(set(answers.values())) == 1
    assert "If <strong>EMAIL</strong> is an address of a member" in answers[member.email]
    [mail] = _login_link_mails()  # the member only
    assert mail.recipient == member.email


def test_a_member_signs_in_by_the_mailed_link_and_rsvps(client, invited):
    meeting, member = invited
    invite = f"/i/{meeting.invite_token}"
    client.post(invite, data={"email": member.email})
    [mail] = _login_link_mails()
    link = re.search(r"http://eventtrack\.test(/login/link/\S+)", mail.body_text).group(1)

    signed_in = client.post(link)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == invite
    to_rsvp = client.get(invite)
    assert to_rsvp.status_code == 302
    assert to_rsvp.headers["Location"] == f"/m/{meeting.id}"

    client.post(f"/m/{meeting.id}/rsvp", data={"status": "going"})
    reg = registrations.registration_for(meeting, member)
    assert reg.status == "waitlist"  # one place, taken: the waitlist as for any RSVP
    assert db.session.scalar(select(LoginLink.used_at)) is not None


def test_a_member_of_another_group_learns_nothing_and_cannot_rsvp(client, auth, make, invited):
    meeting, _ = invited
    other = make.member(make.group(name="Elsewhere"), name="Other Person")
    auth.login_as(other)
    page = client.get(f"/i/{meeting.invite_token}")
    assert page.status_code == 200
    assert "which is not an address of this group" in page.text
    assert "Secret Member" not in page.text and "Already Going" not in page.text
    before = db.session.scalar(select(func.count()).select_from(Registration))
    assert client.post(f"/m/{meeting.id}/rsvp", data={"status": "going"}).status_code == 404
    assert client.get(f"/m/{meeting.id}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Registration)) == before


def test_a_cancelled_or_past_meeting_offers_no_sign_in(client, make, now):
    group = make.group()
    cancelled = make.meeting(group, now=now, status="cancelled")
    past = make.meeting(group, starts_in=timedelta(days=-3), now=now)
    assert "This meeting is cancelled." in client.get(f"/i/{cancelled.invite_token}").text
    over = client.get(f"/i/{past.invite_token}").text
    assert "This meeting is over." in over and 'name="email"' not in over


def test_a_sign_in_request_needs_the_csrf_token(app, client, invited):
    meeting, member = invited
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/i/{meeting.invite_token}", data={"email": member.email})
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _login_link_mails() == []


def test_a_bad_address_is_answered_next_to_the_field_and_kept(client, invited):
    meeting, _ = invited
    page = client.post(f"/i/{meeting.invite_token}", data={"email": "not-an-address"})
    assert page.status_code == 422  # unprocessable, like every form of the app
    assert 'value="not-an-address"' in page.text and 'class="error"' in page.text
    assert _login_link_mails() == []


def test_asking_for_someone_elses_link_only_mails_their_inbox(client, auth, make, invited):
    """A member (or anyone) typing another member's address gets no link of theirs: it goes to
    that member's inbox only, and the page shows nothing of it."""
    meeting, victim = invited
    snoop = make.member(meeting.group, name="Snoop")
    auth.login_as(snoop)
    auth.logout()
    page = client.post(f"/i/{meeting.invite_token}", data={"email": victim.email})
    [mail] = _login_link_mails()
    link = re.search(r"(/login/link/\S+)", mail.body_text).group(1)
    assert mail.recipient == victim.email
    assert link not in page.text and "/login/link/" not in page.text
