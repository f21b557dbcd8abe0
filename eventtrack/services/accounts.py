"""Accounts: organiser sign-up that proves the address, passwords, emailed one-time sign-in
links, API tokens."""

import hashlib
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import DriverStatement, DriverTransaction, insert_ignoring
from ..extensions import db
from ..links import external_url
from ..models import ApiToken, LoginLink, SignupLink, User
from . import outbox
from .errors import Invalid, require_fits

MIN_PASSWORD = 10
MAX_PASSWORD = 200
# Checked against when there is no account, so that a wrong email costs what a wrong password
# costs: the answer's timing does not tell who has an account.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def normalise_email(email: str) -> str:
    """Return the canonical (lower-cased) form of ``email`` or raise ``Invalid``."""
    try:
        valid = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"{email!r} is not a valid email address: {exc}", field="email") from exc
    # The ASCII (punycode) form where there is one: mail to "bücher.de" must go out as
    # "xn--bcher-kva.de", and one address must not be stored in two spellings.
    return (valid.ascii_email or valid.normalized).lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_by_email(email: str) -> User | None:
    try:
        email = normalise_email(email)
    except Invalid:
        return None
    return db.session.scalar(select(User).where(User.email == email))


def get_or_create_user(email: str, name: str, **profile) -> tuple[User, bool]:
    """Return the user with ``email``, creating them if new; race-safe on the unique key, and
    inside the caller's transaction (a rollback there takes the new user back too)."""
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    name = require_fits(name, User.name, "A name", field="name") or email.split("@")[0]
    table = User.__table__
    new_id = db.session.execute(
        insert_ignoring(table, "email")
        .values(email=email, name=name, **profile)
        .returning(table.c.id)
    ).scalar()
    # None: someone else created them between our SELECT and INSERT; the constraint decided.
    user = db.session.scalar(select(User).where(User.email == email))
    return user, new_id is not None


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"Use a password of at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"Use a password of at most {MAX_PASSWORD} characters.", field="password")


def register_organiser(email: str, name: str, password: str, *, existing: bool = False) -> User:
    """Create a password account directly: for the operator (``create-organiser``), who vouches
    for the address. People signing up on the web go through ``request_signup``.

    Only ``existing=True`` gives an existing member (no password yet) a password.
    """
    check_password_rules(password)
    user, created = get_or_create_user(email, name)
    if not created and (user.password_hash or not existing):
        raise Invalid(
            "An account with this email exists. Sign in, or ask for an emailed sign-in link.",
            field="email",
        )
    user.set_password(password)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None; as slow for an unknown email."""
    user = user_by_email(email)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if user.check_password(password) else None


def request_signup(email: str, name: str, password: str, now: datetime) -> None:
    """Start an organiser sign-up: mail the address a link that proves it.

    Nothing exists until the link is used, and the caller answers the same whatever happened
    here: for an address with a password account its owner gets a notice instead of a link,
    so nobody learns from this form who has an account, and nobody can claim an address
    they cannot read. Both paths hash the password and queue one mail: the same work, the same
    time.
    """
    email = normalise_email(email)
    name = require_fits(name, User.name, "Your name", field="name")
    if not name:
        raise Invalid("Tell us your name.", field="name")
    check_password_rules(password)
    password_hash = generate_password_hash(password, method="scrypt")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and user.password_hash:
        outbox.queue_mail(
            "signup_notice",
            context={"user": user, "login_url": external_url("auth.login")},
            kind="signup_notice",
            dedup_key=f"signup_notice:{user.id}:{secrets.token_hex(8)}",
            recipient=user.email,
            recipient_name=user.name,
            user_id=user.id,
            subject="Someone tried to sign up with your address",
            now=now,
        )
        db.session.flush()
        return
    token = secrets.token_urlsafe(32)
    hours = current_app.config["SIGNUP_LINK_HOURS"]
    link = SignupLink(
        email=email,
        name=name,
        password_hash=password_hash,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(link)
    db.session.flush()
    outbox.queue_mail(
        "signup_link",
        context={
            "name": name,
            "existing": user is not None,
            "url": external_url("auth.confirm_signup", token=token),
            "hours": hours,
        },
        kind="signup_link",
        dedup_key=f"signup_link:{link.id}",
        recipient=email,
        recipient_name=name,
        user_id=user.id if user else None,
        subject="Confirm your eventtrack account",
        now=now,
    )
    db.session.flush()


def peek_signup_link(token: str, now: datetime) -> SignupLink | None:
    """The sign-up link if it is still usable, without using it (for the confirm page)."""
    link = db.session.scalar(select(SignupLink).where(SignupLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    return link


def complete_signup(token: str, now: datetime) -> User | None:
    """Use a sign-up link once: create the account it proves, with the password given at
    sign-up; or give that password to the address's account if it has none (a member who
    now organises: the link proved they read that inbox). None if the link is not usable or
    the account got a password meanwhile."""
    used = db.session.execute(
        update(SignupLink)
        .where(
            SignupLink.token_hash == hash_token(token),
            SignupLink.used_at.is_(None),
            SignupLink.expires_at > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:
        return None
    link = db.session.scalar(select(SignupLink).where(SignupLink.token_hash == hash_token(token)))
    user, created = get_or_create_user(link.email, link.name)
    if not created and user.password_hash:
        return None
    user.password_hash = link.password_hash
    db.session.flush()
    return user


def request_login_link(email: str, now: datetime, next_url: str = "") -> bool:
    """Email a one-time sign-in link if ``email`` belongs to a user.

    The caller shows the same answer either way, so the form cannot tell who has an account.
    """
    user = user_by_email(email)
    if user is None:
        return False
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["LOGIN_LINK_MINUTES"]
    link = LoginLink(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
        # A path on this site (the caller made it safe); one too long for the column is
        # dropped: the link then opens the home page, and the sign-in itself is not lost.
        next_url=next_url if len(next_url) <= 300 else "",
    )
    db.session.add(link)
    db.session.flush()
    outbox.queue_mail(
        "login_link",
        context={
            "user": user,
            "url": external_url("auth.login_link", token=token),
            "minutes": minutes,
        },
        kind="login_link",
        dedup_key=f"login_link:{link.id}",
        recipient=user.email,
        recipient_name=user.name,
        user_id=user.id,
        subject="Your eventtrack sign-in link",
        now=now,
    )
    db.session.flush()
    return True


def peek_login_link(token: str, now: datetime) -> LoginLink | None:
    """Return the link if it is still usable, without using it (for the confirm page)."""
    link = db.session.scalar(select(LoginLink).where(LoginLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    return link


def consume_login_link(token: str, now: datetime) -> LoginLink | None:
    """Use the link once: a conditional UPDATE, so two clicks cannot both sign in (the second
    waits on the row until the first's transaction ends, then finds it used)."""
    result = db.session.execute(
        update(LoginLink)
        .where(
            LoginLink.token_hash == hash_token(token),
            LoginLink.used_at.is_(None),
            LoginLink.expires_at > now,
        )
        .values(used_at=now)
    )
    if result.rowcount != 1:
        return None
    return db.session.scalar(select(LoginLink).where(LoginLink.token_hash == hash_token(token)))


def new_api_token(user: User, now: datetime) -> str:
    """Create an API token for ``user`` and return it; only its hash is stored."""
    token = "et_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now))
    db.session.flush()
    return token


# Every API request runs this, so it is driver-level SQL (see ``DriverStatement``); an API call
# needs the user's id, not the user (``web.api.auth.api_user`` loads that when a route asks).
_TOKEN_USER = DriverStatement(
    "SELECT api_tokens.id, api_tokens.user_id,"
    " (api_tokens.last_used_at IS NULL OR api_tokens.last_used_at < :touch_before)"
    " FROM api_tokens WHERE api_tokens.token_hash = :token_hash",
    datetimes=("touch_before",),
)
_TOUCH_TOKEN = DriverStatement(
    "UPDATE api_tokens SET last_used_at = :at WHERE id = :token_id", datetimes=("at",)
)


def user_id_for_api_token(token: str, now: datetime) -> int | None:
    """The id of the user holding the API ``token``, or None.

    Authentication is a transaction of its own, before the request's action and committed
    here whatever that action does later: the touch of ``last_used_at`` is the only write.
    """
    with DriverTransaction.own() as tx:
        row = _TOKEN_USER.first(
            {"token_hash": hash_token(token), "touch_before": now - timedelta(minutes=1)}, tx
        )
        if row is None:
            return None
        token_id, user_id, stale = row
        # Touch at most once a minute: a busy integration should not write on every request.
        if stale:
            _TOUCH_TOKEN.first({"token_id": token_id, "at": now}, tx)
            tx.commit()
        return user_id


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_token(user: User) -> str:
    return _unsubscribe_serializer().dumps({"u": user.id, "e": user.email})


def user_for_unsubscribe_token(token: str) -> User | None:
    try:
        data = _unsubscribe_serializer().loads(token)
    except BadSignature:
        return None
    user = db.session.get(User, data.get("u"))
    # Bound to the address too: a token stops working if the account changes hands.
    if user is None or user.email != data.get("e"):
        return None
    return user
