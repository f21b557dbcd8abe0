import email
import email.policy

from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import (
    Connection,
    Meeting,
    OutboxMessage,
    Registration,
    User,
)
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
