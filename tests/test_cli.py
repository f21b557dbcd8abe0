import email
import email.policy
import re
from urllib.parse import urlsplit

from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import (
    Connection,
    Meeting,
    OutboxMessage,
    Registration,
    User,
)
from eventtrack.models.followup import FollowUp
from eventtrack.models.vocabularies import FollowUpState
from eventtrack.services import accounts
from eventtrack.transaction import atomic


def test_demo_fills_an_empty_database_once(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "organiser@example.com" in result.output
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    past, upcoming = meetings
    checked_in = db.session.scalar(
        select(func.count()).where(
            Registration.meeting_id == past.id, Registration.checked_in_at.is_not(None)
        )
    )
    assert checked_in == 7
    assert db.session.scalar(select(func.count()).select_from(Connection)) == 5
    assert (
        db.session.scalar(select(func.count()).where(Registration.meeting_id == upcoming.id)) == 6
    )
    again = runner.invoke(args=["demo"])
    assert "already has users" in again.output
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 2


def test_demo_organiser_can_sign_in(runner, client):
    runner.invoke(args=["demo"])
    response = client.post(
        "/login", data={"email": "organiser@example.com", "password": "demo-organiser-pw"}
    )
    assert response.status_code == 302
    assert b"Berlin Product Circle" in client.get("/organise/").data


def test_demo_past_meeting_has_follow_ups_queued_and_some_done(runner, app, client, tmp_path):
    """The payoff is there from the first `make run`: the worker delivers every attendee's
    follow-up mail as .eml, and Ada's link opens her list with her follow-up marked done."""
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "mail")
    runner.invoke(args=["demo"])
    past = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).first()
    followup_mails = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.meeting_id == past.id, OutboxMessage.kind == "followup"
        )
    ).all()
    assert len(followup_mails) == 7  # every attendee, the no-show not
    assert past.followups_queued_at is not None
    states = db.session.execute(select(FollowUp.state, FollowUp.promise)).all()
    assert sorted(s for s, _ in states).count(FollowUpState.DONE) == 3
    assert any(p for _, p in states)

    result = runner.invoke(args=["outbox"])
    assert result.exit_code == 0, result.output
    delivered = {}
    for eml in (tmp_path / "mail").glob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        delivered[message["Message-ID"]] = message
    assert {m.message_id for m in followup_mails} <= delivered.keys()
    [ada] = [m for m in followup_mails if m.recipient == "ada.lovelace@example.com"]
    text = delivered[ada.message_id].get_body(("plain",)).get_content()
    [link] = re.findall(r"http://\S+/p/\S+/followups", text)
    page = client.get(urlsplit(link).path, follow_redirects=True)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Grace Hopper" in body and "Alan Turing" in body
    assert "Send Alan the two client leads" in body
    assert body.count(">Done ") == 1  # Grace: followed up the day after


def test_create_organiser(runner):
    result = runner.invoke(
        args=["create-organiser", "Olivia@Example.com", "--name", "Olivia"],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.email == "olivia@example.com" and user.check_password("a long password")


def test_create_organiser_refuses_a_short_password(runner):
    result = runner.invoke(
        args=["create-organiser", "o@example.com", "--name", "O"], input="short\nshort\n"
    )
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    assert db.session.scalar(select(User)) is None


def test_api_token_prints_a_working_token(runner, make, now):
    user = make.organiser(email="o@example.com")
    result = runner.invoke(args=["api-token", "o@example.com"])
    token = result.output.strip()
    assert result.exit_code == 0 and accounts.user_id_for_api_token(token, now) == user.id
    missing = runner.invoke(args=["api-token", "nobody@example.com"])
    assert missing.exit_code != 0 and "No user" in missing.output


def test_outbox_without_mail_server_writes_eml_files(runner, app, make, now, tmp_path):
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "mail")
    make.user(email="m@example.com")
    with atomic():
        accounts.request_login_link("m@example.com", now)
    result = runner.invoke(args=["outbox"])
    assert result.exit_code == 0 and "sent 1" in result.output
    [eml] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "m@example.com"
    assert "/login/link/" in message.get_body(("plain",)).get_content()
    assert db.session.scalar(select(OutboxMessage.status)) == "sent"


def test_outbox_status_counts_pending_retrying_and_failed(runner, make, now):
    from eventtrack.models import OutboxMessage
    from eventtrack.models.vocabularies import MailStatus

    people = [make.user() for _ in range(4)]
    with atomic():
        for person in people:
            accounts.request_login_link(person.email, now)
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    rows[1].attempts = 2  # failed twice, waiting for its next try
    rows[2].status, rows[2].attempts, rows[2].last_error = MailStatus.FAILED, 8, "550 no such user"
    rows[3].status, rows[3].attempts = MailStatus.SENT, 1
    db.session.commit()

    result = runner.invoke(args=["outbox", "--status"])

    assert result.exit_code == 0
    assert result.output.split() == [
        "pending",
        "1",
        "retrying",
        "1",
        "sending",
        "0",
        "sent",
        "1",
        "failed",
        "1",
    ]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(OutboxMessage.status == "pending")) == 2


def test_outbox_status_on_a_database_not_migrated_says_so_in_one_line(tmp_path):
    from eventtrack import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SECRET_KEY": "x"})
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["outbox", "--status"])
        db.engine.dispose()
    assert result.exit_code == 1
    assert "cannot read the outbox (no such table: outbox_messages)" in result.output
    assert "db upgrade" in result.output and "Traceback" not in result.output
