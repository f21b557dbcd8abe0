"""Inviting (the link, announce) and messaging the attendees, without HTTP."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import LoginLink, OutboxMessage
from eventtrack.models.vocabularies import MailStatus
from eventtrack.services import invitations, messages, registrations
from eventtrack.services.errors import Invalid
from tests.factories import forged


def _mails(kind):
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


def test_invite_tokens_are_unguessable_and_distinct(make, now):
    group = make.group()
    a, b = make.meeting(group, now=now), make.meeting(group, now=now)
    assert a.invite_token != b.invite_token and len(a.invite_token) >= 24
    # Random, not made from the id (a short id can appear in a random token by chance).
    assert not a.invite_token.isdigit() and a.invite_token != str(a.id)


@pytest.mark.parametrize("token", ["", "x", "a" * 65, "../../etc", "abc def ghi jkl mno", None])
def test_a_garbled_invite_token_names_no_meeting(make, now, token):
    make.meeting(make.group(), now=now)
    assert invitations.meeting_by_invite(token) is None


def test_the_invite_token_names_its_meeting(make, now):
    meeting = make.meeting(make.group(), now=now)
    assert invitations.meeting_by_invite(meeting.invite_token).id == meeting.id
    assert invitations.meeting_by_invite(forged(meeting.invite_token)) is None


def test_a_sign_in_link_goes_to_members_only_and_leads_back(make, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    member = make.member(group, email="member@example.com")
    make.user(email="outsider@example.com")
    back = f"/i/{meeting.invite_token}"

    assert invitations.request_sign_in(meeting, "MEMBER@example.com", now, back)
    assert not invitations.request_sign_in(meeting, "outsider@example.com", now, back)
    assert not invitations.request_sign_in(meeting, "nobody@example.com", now, back)

    [mail] = _mails("login_link")
    assert mail.recipient == member.email
    assert db.session.scalar(select(LoginLink.next_url)) == back


def test_announce_mails_every_member_once_with_the_link_and_unsubscribe(make, now):
    group = make.group()
    meeting = make.meeting(group, now=now, title="Pricing night")
    members = [make.member(group) for _ in range(3)]
    members[0].followup_emails = False  # unsubscribed: left out
    db.session.commit()

    assert invitations.announce(meeting, now) == 3  # the organiser and two members
    mails = _mails("announce")
    assert {m.user_id for m in mails} == {
        group.memberships[0].user_id,
        *(u.id for u in members[1:]),
    }
    for mail in mails:
        assert f"/i/{meeting.invite_token}" in mail.body_text
        assert f"/i/{meeting.invite_token}" in mail.body_html
        assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail.headers["List-Unsubscribe"].strip("<>") in mail.body_text
        assert mail.meeting_id == meeting.id and "Pricing night" in mail.subject

    late = make.member(group)
    assert invitations.announce(meeting, now) == 1  # only the member who joined since
    assert _mails("announce")[-1].user_id == late.id


@pytest.mark.parametrize("how", ["cancelled", "over"])
def test_announce_refuses_a_cancelled_or_past_meeting(make, now, how):
    group = make.group()
    if how == "over":
        meeting = make.meeting(group, starts_in=timedelta(days=-2), now=now)
    else:
        meeting = make.meeting(group, now=now, status="cancelled")
    with pytest.raises(Invalid):
        invitations.announce(meeting, now)
    assert _mails("announce") == []


@pytest.fixture
def attended(make, now):
    """A meeting that ended an hour ago: one present, one no-show, one waitlisted, one who
    cancelled, and a present member who unsubscribed."""
    group = make.group()
    meeting = make.meeting(group, starts_in=timedelta(hours=-3), now=now)
    people = {k: make.member(group, name=k) for k in ("here", "absent", "waiting", "gone", "quiet")}
    make.registration(meeting, people["here"], checked_in_at=now - timedelta(hours=2))
    make.registration(meeting, people["absent"])
    make.registration(meeting, people["waiting"], status="waitlist")
    make.registration(meeting, people["gone"], status="cancelled")
    make.registration(meeting, people["quiet"], checked_in_at=now - timedelta(hours=2))
    people["quiet"].followup_emails = False
    db.session.commit()
    return meeting, people


@pytest.mark.parametrize(
    "audience, names",
    [
        ("registered", {"here", "absent", "waiting"}),
        ("checked_in", {"here"}),
        ("no_shows", {"absent"}),
    ],
)
def test_message_reaches_exactly_its_audience(attended, now, audience, names):
    meeting, people = attended
    sent = messages.message_attendees(meeting, audience, "Slides", "Here are the slides.", now)
    mails = _mails("message")
    by_id = {u.id: name for name, u in people.items()}
    assert sent == len(mails) and {by_id[m.user_id] for m in mails} == names
    for mail in mails:
        assert mail.subject == "Slides" and "Here are the slides." in mail.body_text
        assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_same_message_twice_mails_nobody_twice_but_a_new_one_goes(attended, now):
    meeting, _ = attended
    assert messages.message_attendees(meeting, "registered", "Hi", "Text", now) == 3
    assert messages.message_attendees(meeting, "registered", "Hi", "Text", now) == 0
    assert messages.message_attendees(meeting, "registered", "Hi", "Other text", now) == 3


def test_no_shows_are_known_only_after_the_meeting(make, now):
    meeting = make.meeting(make.group(), now=now)
    with pytest.raises(Invalid) as err:
        messages.message_attendees(meeting, "no_shows", "Missed you", "Text", now)
    assert err.value.field == "audience"


@pytest.mark.parametrize(
    "audience, subject, body, field",
    [
        ("everyone", "S", "B", "audience"),
        ("registered", "   ", "B", "subject"),
        ("registered", "S" * 201, "B", "subject"),
        ("registered", "S", "", "body"),
        ("registered", "S", "B" * 5001, "body"),
    ],
)
def test_a_bad_message_is_refused_with_its_field(attended, now, audience, subject, body, field):
    meeting, _ = attended
    with pytest.raises(Invalid) as err:
        messages.message_attendees(meeting, audience, subject, body, now)
    assert err.value.field == field
    assert _mails("message") == []


def test_a_message_body_is_escaped_in_the_html_mail(attended, now):
    meeting, _ = attended
    messages.message_attendees(meeting, "checked_in", "S", "<script>x()</script>", now)
    [mail] = _mails("message")
    assert "<script>" not in mail.body_html and "&lt;script&gt;" in mail.body_html


def test_mail_states_count_every_mail_and_list_failures_first(make, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    for _ in range(4):
        registrations.register(meeting, make.member(group), now)
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    mails[0].status, mails[0].last_error = MailStatus.FAILED, "550 mailbox unknown"
    mails[1].status, mails[1].sent_at = MailStatus.SENT, now
    db.session.commit()
    other = make.meeting(group, now=now)
    registrations.register(other, make.member(group), now)  # another meeting's mail: not counted

    states = messages.mail_states(meeting, limit=2)

    assert states.counts == {"queued": 2, "sent": 1, "failed": 1} and states.total == 4
    assert len(states.latest) == 2
    assert states.latest[0].state == "failed"
    assert states.latest[0].error == "550 mailbox unknown"
    assert states.latest[1].state == "queued"  # then the latest
