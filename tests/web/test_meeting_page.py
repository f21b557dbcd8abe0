"""The organiser's meeting page and its actions: registrations a page at a time, ticking and
"register everyone", each mail's state, inviting, messaging, the CSV; and who may call them."""

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Meeting, Membership, OutboxMessage, Registration
from eventtrack.models.vocabularies import MailStatus
from eventtrack.services import members, registrations


@pytest.fixture
def organiser(make, auth):
    user = make.organiser(email="organiser@example.com")
    auth.login_as(user)
    return user


@pytest.fixture
def group(make, organiser):
    return make.group(organiser)


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _search_keys(group):
    members.refresh_search_keys(Membership.group_id == group.id)
    db.session.commit()


def test_registrations_come_a_page_at_a_time_with_their_count(client, make, group, now):
    meeting = make.meeting(group, now=now)
    for i in range(55):
        registrations.register(meeting, make.member(group, name=f"Member {i:02}"), now)
    db.session.commit()

    first = client.get(f"/organise/meetings/{meeting.id}").text
    assert "1–50 of 55 registrations" in first and "Page 1 of 2" in first
    assert first.count("Resend pass<span") == 50
    second = client.get(f"/organise/meetings/{meeting.id}?page=2").text
    assert "51–55 of 55 registrations" in second and second.count("Resend pass<span") == 5


def test_registrations_are_searched_whatever_the_accents_and_case(client, make, group, now):
    meeting = make.meeting(group, now=now)
    registrations.register(meeting, make.member(group, name="Özlem Yılmaz"), now)
    registrations.register(meeting, make.member(group, name="Ben Kim"), now)
    db.session.commit()
    _search_keys(group)

    page = client.get(f"/organise/meetings/{meeting.id}?q=OZLEM").text
    assert "Özlem Yılmaz" in page and "Ben Kim" not in page
    assert "1–1 of 1 registrations" in page
    none = client.get(f"/organise/meetings/{meeting.id}?q=nobody%25").text
    assert "No registration matches “nobody%”." in none


def test_the_page_takes_the_same_statements_searched_and_paged(
    client, make, group, now, count_queries
):
    def statements(meeting):
        url = f"/organise/meetings/{meeting.id}?q=member&mq=member&page=2&mpage=2"
        client.get(url)
        db.session.expire_all()
        with count_queries() as counted:
            assert client.get(url).status_code == 200
        return counted.count

    small, large = make.meeting(group, now=now), make.meeting(group, now=now)
    for i in range(80):
        user = make.member(group, name=f"Member {i}")
        registrations.register(large if i % 2 else small, user, now)
    db.session.commit()
    _search_keys(group)
    assert statements(small) == statements(large)


def test_members_are_ticked_with_checkboxes_and_a_count_not_a_multi_select(
    client, make, group, now
):
    meeting = make.meeting(group, now=now)
    people = [make.member(group, name=f"Ticked {i}") for i in range(3)]
    page = client.get(f"/organise/meetings/{meeting.id}").text
    assert "<select" not in page and "Ctrl" not in page
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*name="user_ids"[^>]*>', page) or re.findall(
        r'<input[^>]*name="user_ids"[^>]*type="checkbox"[^>]*>', page
    )
    assert len(boxes) == 4  # three members and the organiser
    assert "0 selected" in page and "js/tick_count.js" in page

    done = client.post(
        f"/organise/meetings/{meeting.id}/registrations",
        data={"user_ids": [people[0].id, people[2].id]},
        follow_redirects=True,
    )
    assert "Registered 2." in done.text
    assert _count(Registration, Registration.meeting_id == meeting.id) == 2
    assert "Ticked 1" in done.text.split('id="register"')[1]  # still to tick
    assert "Ticked 0" not in done.text.split('id="register"')[1]


def test_ticking_nobody_says_so(client, make, group, now):
    meeting = make.meeting(group, now=now)
    page = client.post(f"/organise/meetings/{meeting.id}/registrations", follow_redirects=True)
    assert "Tick at least one member" in page.text


def test_register_everyone_from_the_page(client, make, group, now):
    meeting = make.meeting(group, now=now, capacity=3)
    for _ in range(4):
        make.member(group)
    page = client.get(f"/organise/meetings/{meeting.id}").text
    assert "Register everyone not registered yet (5)" in page

    done = client.post(f"/organise/meetings/{meeting.id}/register-everyone", follow_redirects=True)
    assert "Registered 3. 2 on the waitlist (meeting full)." in done.text
    assert _count(OutboxMessage, OutboxMessage.kind == "pass") == 5
    assert "Every member of Product Circle is registered." in done.text

    again = client.post(f"/organise/meetings/{meeting.id}/register-everyone", follow_redirects=True)
    assert "Every member is registered already." in again.text
    assert _count(OutboxMessage, OutboxMessage.kind == "pass") == 5


def test_every_mail_of_the_meeting_shows_its_state_and_failure_reason(client, make, group, now):
    meeting = make.meeting(group, now=now)
    for _ in range(3):
        registrations.register(meeting, make.member(group), now)
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    mails[0].status, mails[0].last_error = MailStatus.FAILED, "550 5.1.1 no such mailbox"
    mails[1].status, mails[1].sent_at = MailStatus.SENT, now
    db.session.commit()

    page = client.get(f"/organise/meetings/{meeting.id}").text
    mail = page.split('id="mail"')[1]
    assert re.search(r">1</span> queued", mail) and re.search(r">1</span> sent", mail)
    assert re.search(r">1</span> failed", mail)
    assert "550 5.1.1 no such mailbox" in mail and mails[0].recipient in mail
    assert "Waiting to be sent" in mail and "Pass: Your pass" in mail


def test_only_the_latest_mails_are_listed_with_how_many_more(client, make, group, now):
    meeting = make.meeting(group, now=now)
    for _ in range(20):
        registrations.register(meeting, make.member(group), now)
    db.session.commit()
    page = client.get(f"/organise/meetings/{meeting.id}").text
    assert "5 more not listed" in page


def test_the_invitation_link_and_announce(client, make, group, now):
    meeting = make.meeting(group, now=now)
    make.member(group)
    page = client.get(f"/organise/meetings/{meeting.id}").text
    assert f"http://eventtrack.test/i/{meeting.invite_token}" in page

    done = client.post(f"/organise/meetings/{meeting.id}/announce", follow_redirects=True)
    assert "Announced: 2 members will get the invitation by email." in done.text
    again = client.post(f"/organise/meetings/{meeting.id}/announce", follow_redirects=True)
    assert "told already" in again.text
    assert _count(OutboxMessage, OutboxMessage.kind == "announce") == 2


def test_message_the_attendees_keeps_what_was_typed_on_a_mistake(client, make, group, now):
    meeting = make.meeting(group, now=now)
    registrations.register(meeting, make.member(group), now)
    db.session.commit()
    url = f"/organise/meetings/{meeting.id}/message"
    assert 'name="subject"' in client.get(url).text

    wrong = client.post(url, data={"audience": "no_shows", "subject": "Hi", "body": "Kept text"})
    assert wrong.status_code == 422
    assert "No-shows are known once the meeting is over." in wrong.text
    assert "Kept text" in wrong.text and 'value="Hi"' in wrong.text
    assert _count(OutboxMessage, OutboxMessage.kind == "message") == 0

    sent = client.post(
        url,
        data={"audience": "registered", "subject": "Parking", "body": "Use the back door."},
        follow_redirects=True,
    )
    assert "Message queued for 1 people." in sent.text
    assert _count(OutboxMessage, OutboxMessage.kind == "message") == 1


def test_registrations_csv_with_attendance(client, make, group, now):
    meeting = make.meeting(group, now=now)
    here = make.member(group, name="=cmd|' /C calc'!A0")
    reg, _ = registrations.register(meeting, here, now)
    reg.checked_in_at = now
    db.session.commit()
    page = client.get(f"/organise/meetings/{meeting.id}").text
    assert f"/organise/meetings/{meeting.id}/registrations.csv" in page

    response = client.get(f"/organise/meetings/{meeting.id}/registrations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0] == "name" and len(rows) == 2
    assert not rows[1][0].startswith("=")  # formula-safe


def test_uncancel_and_delete_buttons_when_they_apply(client, make, group, now):
    empty = make.meeting(group, now=now)
    page = client.get(f"/organise/meetings/{empty.id}").text
    assert f"/organise/meetings/{empty.id}/delete" in page
    assert "/uncancel" not in page

    taken = make.meeting(group, now=now, status="cancelled")
    registrations_made = make.registration(taken, status="cancelled")
    page = client.get(f"/organise/meetings/{taken.id}").text
    assert f"/organise/meetings/{taken.id}/uncancel" in page
    assert f"/organise/meetings/{taken.id}/delete" not in page
    assert registrations_made.id


# --- who may call these routes ---------------------------------------------------------------

ROUTES = [
    ("get", "/organise/meetings/{id}", {}),
    ("post", "/organise/meetings/{id}/registrations", {"user_ids": ["{member}"]}),
    ("post", "/organise/meetings/{id}/register-everyone", {}),
    ("post", "/organise/meetings/{id}/announce", {}),
    ("get", "/organise/meetings/{id}/message", {}),
    (
        "post",
        "/organise/meetings/{id}/message",
        {"audience": "registered", "subject": "S", "body": "B"},
    ),
    ("get", "/organise/meetings/{id}/registrations.csv", {}),
]


@pytest.fixture
def victim(make, now):
    """Another organiser's meeting, with a member registered and one not."""
    group = make.group(make.organiser(), name="Their group")
    meeting = make.meeting(group, now=now)
    registrations.register(meeting, make.member(group, name="Their member"), now)
    loose = make.member(group, name="Not registered")
    db.session.commit()
    return meeting, loose


def _call(client, method, path, data, meeting, member):
    url = path.format(id=meeting.id)
    body = {
        k: [v.format(member=member.id) for v in vs] if isinstance(vs, list) else vs
        for k, vs in data.items()
    }
    return getattr(client, method)(url, data=body)


def _rows():
    return (_count(Registration), _count(OutboxMessage))


@pytest.mark.parametrize("method, path, data", ROUTES)
def test_another_organiser_gets_404_and_changes_nothing(
    client, make, organiser, victim, method, path, data
):
    meeting, loose = victim
    make.group(organiser)  # organises a group of their own, just not this one
    before = _rows()
    response = _call(client, method, path, data, meeting, loose)
    assert response.status_code == 404
    assert _rows() == before


@pytest.mark.parametrize("method, path, data", ROUTES)
def test_a_plain_member_of_the_group_gets_404(client, auth, make, victim, method, path, data):
    meeting, loose = victim
    auth.login_as(loose)
    before = _rows()
    assert _call(client, method, path, data, meeting, loose).status_code == 404
    assert _rows() == before


@pytest.mark.parametrize("method, path, data", ROUTES)
def test_anonymous_is_sent_to_sign_in(client, victim, method, path, data):
    meeting, loose = victim
    before = _rows()
    response = _call(client, method, path, data, meeting, loose)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _rows() == before


@pytest.mark.parametrize("method, path, data", [r for r in ROUTES if r[0] == "post"])
def test_a_post_without_the_csrf_token_is_refused(
    app, client, make, group, now, method, path, data
):
    meeting = make.meeting(group, now=now)
    loose = make.member(group)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        before = _rows()
        response = _call(client, method, path, data, meeting, loose)
        assert response.status_code in (302, 400)
        assert _rows() == before
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_an_organiser_cannot_register_another_groups_member(client, make, group, now, victim):
    meeting = make.meeting(group, now=now)
    _, theirs = victim
    page = client.post(
        f"/organise/meetings/{meeting.id}/registrations",
        data={"user_ids": [theirs.id]},
        follow_redirects=True,
    )
    assert "Tick at least one member" in page.text
    assert _count(Registration, Registration.meeting_id == meeting.id) == 0


def test_a_past_meeting_offers_no_registering_or_inviting(client, make, group, now):
    meeting = make.meeting(group, starts_in=timedelta(days=-3), now=now)
    make.member(group)
    page = client.get(f"/organise/meetings/{meeting.id}").text
    assert "Register everyone" not in page and "Announce" not in page
    done = client.post(f"/organise/meetings/{meeting.id}/register-everyone", follow_redirects=True)
    assert "Nobody was registered: This meeting is over." in done.text
    assert db.session.get(Meeting, meeting.id) is not None


def test_an_organiser_cancelling_a_place_tells_the_member_and_nobody_else(client, make, group, now):
    meeting = make.meeting(group, now=now, title="Pricing night")
    past = make.meeting(group, now=now, starts_in=timedelta(days=-30), title="Last month")
    ada = make.member(group, name="Ada", email="ada@example.com")
    reg, _ = registrations.register(meeting, ada, now)
    old = make.registration(past, ada)
    db.session.commit()
    done = client.post(f"/organise/registrations/{reg.id}/cancel", follow_redirects=True)
    assert "registration cancelled; they are told by email" in done.text
    [mail] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "registration_cancelled")
    ).all()
    assert mail.recipient == "ada@example.com" and mail.meeting_id == meeting.id
    assert "The organisers of" in mail.body_text and "cancelled your place" in mail.body_text
    assert "as you asked" not in mail.body_text and reg.pass_token not in mail.body_text
    assert "cancelled your place" in mail.body_html
    # A meeting already over: its registration is cancelled, nobody is mailed about it.
    quiet = client.post(f"/organise/registrations/{old.id}/cancel", follow_redirects=True)
    assert "registration cancelled." in quiet.text and "told by email" not in quiet.text
    assert _count(OutboxMessage, OutboxMessage.kind == "registration_cancelled") == 1
    assert db.session.get(Registration, old.id).status == "cancelled"
