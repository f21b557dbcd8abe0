from datetime import timedelta

import pytest
from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import ApiToken, LoginLink, OutboxMessage, User
from eventtrack.services import accounts
from eventtrack.services.errors import Invalid
from eventtrack.transaction import atomic
from tests.factories import forged


def test_emails_are_unique_case_insensitively(make):
    make.user(email="Ada@Example.com")
    user, created = accounts.get_or_create_user("  ADA@example.COM ", "Someone else")
    assert not created
    assert user.email == "ada@example.com"
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


def test_database_refuses_mixed_case_email(app):
    db.session.add(User(email="Mixed@Example.com", name="x"))
    with pytest.raises(Exception, match="(?i)check|constraint"):
        db.session.commit()
    db.session.rollback()


def test_passwords_are_hashed_with_scrypt(app):
    user = accounts.register_organiser("org@example.com", "Org", "a long password")
    assert user.password_hash.startswith("scrypt:")
    assert "a long password" not in user.password_hash
    assert accounts.authenticate("ORG@example.com", "a long password") == user
    assert accounts.authenticate("org@example.com", "wrong password!") is None


def test_short_password_is_refused(app):
    with pytest.raises(Invalid) as exc:
        accounts.register_organiser("org@example.com", "Org", "short")
    assert exc.value.field == "password"


def test_sign_up_never_takes_over_an_existing_member(make):
    member = make.user(email="m@example.com", name="Member")
    with pytest.raises(Invalid, match="exists"):
        accounts.register_organiser("M@example.com", "Attacker", "a long password")
    db.session.rollback()
    assert member.password_hash is None


def test_operator_can_give_an_existing_member_a_password_once(make):
    make.user(email="m@example.com", name="Member")
    user = accounts.register_organiser("m@example.com", "Ignored", "a long password", existing=True)
    assert user.name == "Member" and user.is_organiser_account
    with pytest.raises(Invalid, match="exists"):
        accounts.register_organiser("m@example.com", "Again", "another long one", existing=True)


def test_login_link_is_mailed_hashed_and_single_use(make, now):
    user = make.user(email="m@example.com")
    assert accounts.request_login_link("M@example.com", now, "/me")
    mail = db.session.scalar(select(OutboxMessage))
    assert mail.recipient == "m@example.com" and mail.kind == "login_link"
    token = mail.body_text.split("/login/link/")[1].split()[0]
    link = db.session.scalar(select(LoginLink))
    assert link.token_hash != token and link.token_hash == accounts.hash_token(token)
    assert accounts.peek_login_link(token, now) is not None
    used = accounts.consume_login_link(token, now)
    assert used.user_id == user.id and used.next_url == "/me"
    assert accounts.consume_login_link(token, now) is None  # usable once
    assert accounts.peek_login_link(token, now) is None


def test_login_link_expires_after_15_minutes(make, now):
    make.user(email="m@example.com")
    accounts.request_login_link("m@example.com", now)
    token = db.session.scalar(select(OutboxMessage)).body_text.split("/login/link/")[1].split()[0]
    assert accounts.consume_login_link(token, now + timedelta(minutes=15, seconds=1)) is None
    assert accounts.consume_login_link(token, now + timedelta(minutes=14)) is not None


def test_login_link_for_unknown_email_sends_nothing(app, now):
    assert accounts.request_login_link("nobody@example.com", now) is False
    assert db.session.scalar(select(OutboxMessage)) is None


def test_api_tokens_are_stored_hashed(make, now):
    user = make.organiser()
    with atomic():  # the token's lookup is a transaction of its own: it sees committed rows
        token = accounts.new_api_token(user, now)
    assert len(token) > 40
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash == accounts.hash_token(token) and token not in stored.token_hash
    user_id = user.id
    assert accounts.user_id_for_api_token(token, now) == user_id
    assert accounts.user_id_for_api_token(token + "x", now) is None


def test_api_token_use_is_recorded_at_most_once_a_minute(make, now):
    with atomic():
        token = accounts.new_api_token(make.organiser(), now)

    def last_used():
        db.session.expire_all()
        return db.session.scalar(select(ApiToken.last_used_at))

    accounts.user_id_for_api_token(token, now)
    assert last_used() == now
    accounts.user_id_for_api_token(token, now + timedelta(seconds=50))
    assert last_used() == now
    accounts.user_id_for_api_token(token, now + timedelta(seconds=61))
    assert last_used() == now + timedelta(seconds=61)


def test_unsubscribe_token_is_bound_to_user_and_address(make):
    user = make.user(email="m@example.com")
    token = accounts.unsubscribe_token(user)
    assert accounts.user_for_unsubscribe_token(token) == user
    assert accounts.user_for_unsubscribe_token(forged(token)) is None
    user.email = "changed@example.com"
    db.session.commit()
    assert accounts.user_for_unsubscribe_token(token) is None


def test_international_domains_are_stored_in_their_ascii_form(app):
    user, _ = accounts.get_or_create_user("Ana@Bücher.de", "Ana")
    assert user.email == "ana@xn--bcher-kva.de"
    again, created = accounts.get_or_create_user("ana@xn--bcher-kva.de", "Ana")
    assert not created and again.id == user.id
