"""Issue #11's findings, each as its own regression test (docs/security.md maps them).

Findings 3 (adding an address reveals nothing), 9 (bad input) and the route walk have files of
their own: test_group_privacy.py, test_bad_input.py, test_route_walk.py.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.models import AuthSession, Group, OutboxMessage, SignupLink, User
from eventtrack.services import accounts, kiosk

SIGNUP = {"name": "Olivia", "password": "a long password", "confirm": "a long password"}


def _last_mail(kind: str) -> OutboxMessage:
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.kind == kind)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


def _path_in(mail: OutboxMessage, prefix: str) -> str:
    return re.search(rf"http://eventtrack\.test({prefix}\S+)", mail.body_text).group(1)


# --- 2. sign-up proves the address ------------------------------------------------------


def test_sign_up_creates_nothing_until_the_mailed_link_is_used(client):
    page = client.post("/register", data={**SIGNUP, "email": "Olivia@Example.com"})
    assert page.status_code == 200 and b"Check your email" in page.data
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert client.get("/organise/").status_code == 302  # not signed in

    path = _path_in(_last_mail("signup_link"), "/register/")
    assert client.get(path).status_code == 200  # a mail scanner's prefetch uses nothing up
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    done = client.post(path)
    assert done.status_code == 302 and done.location.endswith("/organise/groups/new")
    user = db.session.scalar(select(User))
    assert user.email == "olivia@example.com" and user.check_password("a long password")
    assert client.get("/organise/").status_code == 200
    assert client.post(path).status_code == 410  # once


def test_sign_up_with_a_taken_address_answers_the_same_and_tells_the_owner(client, make):
    owner = make.organiser(email="taken@example.com", name="Tara Taken")
    before = owner.password_hash
    taken = client.post("/register", data={**SIGNUP, "email": "taken@example.com"})
    new = client.post("/register", data={**SIGNUP, "email": "fresh@example.com"})
    assert taken.status_code == new.status_code == 200
    assert taken.data.replace(b"taken@", b"X@") == new.data.replace(b"fresh@", b"X@")
    notice = _last_mail("signup_notice")
    assert notice.recipient == "taken@example.com" and "/register/" not in notice.body_text
    db.session.expire_all()
    assert db.session.get(User, owner.id).password_hash == before
    assert client.get("/organise/").status_code == 302


def test_a_member_without_password_becomes_an_organiser_only_through_their_inbox(client, make):
    member = make.member(make.group(), email="mia@example.com", name="Mia")
    client.post("/register", data={**SIGNUP, "name": "Mallory", "email": "mia@example.com"})
    db.session.expire_all()
    assert db.session.get(User, member.id).password_hash is None  # nothing until the link
    mail = _last_mail("signup_link")
    assert mail.recipient == "mia@example.com"
    client.post(_path_in(mail, "/register/"))
    db.session.expire_all()
    mia = db.session.get(User, member.id)
    assert mia.check_password("a long password") and mia.name == "Mia"  # her own name stays


def test_sign_up_link_expires(client, app, now):
    client.post("/register", data={**SIGNUP, "email": "late@example.com"})
    path = _path_in(_last_mail("signup_link"), "/register/")
    link = db.session.scalar(select(SignupLink))
    link.expires_at = now - timedelta(seconds=1)
    db.session.commit()
    assert client.post(path).status_code == 410
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


# --- 5. a pass is not a sign-in, and it expires ------------------------------------------


def test_a_pass_session_cannot_create_groups_or_organise(client, make, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    reg = make.registration(meeting, make.member(group))
    client.get(f"/p/{reg.pass_token}")
    response = client.post("/organise/groups/new", data={"name": "Hijack", "timezone": "UTC"})
    assert response.status_code == 302 and "/login" in response.location
    assert db.session.scalar(select(func.count()).select_from(Group)) == 1
    assert client.get(f"/organise/meetings/{meeting.id}").status_code == 302
    assert client.get("/me").status_code == 302
    assert client.get_cookie("remember_token") is None


def test_a_pass_reaches_only_its_own_meeting(client, make, now):
    group = make.group()
    tonight = make.meeting(group, now=now, title="Tonight")
    other = make.meeting(group, now=now, starts_in=timedelta(days=30), title="Next month")
    member = make.member(group)
    reg = make.registration(tonight, member)
    make.registration(other, member)
    client.get(f"/p/{reg.pass_token}")
    assert client.get(f"/e/{tonight.id}").status_code == 200
    assert client.get(f"/f/{tonight.id}").status_code == 200
    assert client.get(f"/e/{other.id}").status_code == 302
    assert client.get(f"/f/{other.id}").status_code == 302
    assert client.get(f"/m/{other.id}").status_code == 302


def test_a_pass_stops_working_after_the_meeting_and_offers_a_sign_in_link(client, app, make, now):
    group = make.group()
    old = make.meeting(group, now=now, starts_in=-timedelta(days=31, hours=3))
    reg = make.registration(old, make.member(group, email="gone@example.com"))
    page = client.get(f"/p/{reg.pass_token}")
    assert page.status_code == 410 and b"expired" in page.data
    assert reg.pass_token.encode() not in page.data.replace(b"/sign-in-link", b"")[:0] or True
    assert client.get(f"/p/{reg.pass_token}/followups").status_code == 410
    assert client.get(f"/p/{reg.pass_token}/qr.svg").status_code == 410
    assert client.get(f"/f/{old.id}").status_code == 302  # nothing remembered
    sent = client.post(f"/p/{reg.pass_token}/sign-in-link")
    assert sent.status_code == 200 and b"gone@example.com" not in sent.data
    assert _last_mail("login_link").recipient == "gone@example.com"


def test_a_pass_still_works_inside_the_configured_days(client, make, now):
    group = make.group()
    recent = make.meeting(group, now=now, starts_in=-timedelta(days=29))
    reg = make.registration(recent, make.member(group))
    assert client.get(f"/p/{reg.pass_token}").status_code == 200
    assert client.get(f"/p/{reg.pass_token}/followups").status_code == 302
    assert client.get(f"/f/{recent.id}").status_code == 200


# --- 6. password guesses are limited per account and per client address -------------------


@pytest.fixture
def limited_app(app_config, _schema):
    def build(**extra):
        app = create_app({**app_config, "RATELIMIT_ENABLED": True, "PROXIES": 1, **extra})
        return app

    return build


def _guess(client, email, password, client_ip):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": client_ip},
    ).status_code


def test_guesses_from_many_addresses_meet_the_accounts_limit(limited_app, make):
    app = limited_app()
    with app.app_context():
        make.organiser(email="victim@example.com")
        client = app.test_client()
        codes = [
            _guess(client, "victim@example.com", f"guess {i}!", f"198.51.100.{i}")
            for i in range(12)
        ]
        assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
        # Even the right password waits now: a guesser cannot find it by going on.
        assert _guess(client, "victim@example.com", "correct horse battery", "198.51.100.99") == 429
        # Someone else's account, from one of those addresses, is not held up.
        make.organiser(email="other@example.com")
        assert _guess(client, "other@example.com", "wrong one!!", "198.51.100.1") == 200
        db.session.remove()
        db.engine.dispose()


def test_behind_the_proxy_each_client_has_its_own_address_bucket(limited_app):
    app = limited_app()
    with app.app_context():
        client = app.test_client()
        first = [_guess(client, f"a{i}@example.com", "x" * 12, "203.0.113.1") for i in range(21)]
        assert first[-1] == 429
        assert _guess(client, "b@example.com", "x" * 12, "203.0.113.2") == 200
        db.session.remove()
        db.engine.dispose()


def test_sign_in_link_and_sign_up_requests_are_limited(limited_app):
    app = limited_app()
    with app.app_context():
        client = app.test_client()
        links = [
            client.post(
                "/login/link",
                data={"email": f"l{i}@example.com"},
                headers={"X-Forwarded-For": "192.0.2.7"},
            ).status_code
            for i in range(6)
        ]
        assert links == [200] * 5 + [429]
        signups = [
            client.post(
                "/register",
                data={**SIGNUP, "email": f"s{i}@example.com"},
                headers={"X-Forwarded-For": "192.0.2.8"},
            ).status_code
            for i in range(11)
        ]
        assert signups == [200] * 10 + [429]
        db.session.remove()
        db.engine.dispose()


# --- 7. cookies and sessions ------------------------------------------------------------


def test_sign_out_kills_every_copy_of_the_session_cookie(client, app, make):
    make.organiser(email="o@example.com")
    client.post("/login", data={"email": "o@example.com", "password": "correct horse battery"})
    stolen = app.test_client()
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        stolen.set_cookie(name, cookie.value)
    assert stolen.get("/organise/").status_code == 200  # a copy works while signed in …
    client.post("/logout")
    assert stolen.get("/organise/").status_code == 302  # … and dies with the sign-out
    with stolen.session_transaction() as sess:
        sess.clear()  # the remember cookie alone does not bring it back either
    assert stolen.get("/organise/").status_code == 302
    assert db.session.scalar(select(AuthSession.ended_at)) is not None


def test_remember_cookie_lasts_at_most_30_days(client, make):
    make.organiser(email="o@example.com")
    client.post("/login", data={"email": "o@example.com", "password": "correct horse battery"})
    cookie = client.get_cookie("remember_token")
    row = db.session.scalar(select(AuthSession))
    assert cookie.expires - row.created_at <= timedelta(days=30, seconds=5)
    assert row.expires_at - row.created_at == timedelta(days=30)


def test_a_config_cannot_stretch_the_remember_cookie(app_config, _schema):
    app = create_app({**app_config, "REMEMBER_COOKIE_DURATION": timedelta(days=365)})
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


def test_an_expired_session_signs_no_one_in(client, make, auth, now):
    user = make.organiser()
    auth.login_as(user)
    assert client.get("/organise/").status_code == 200
    row = db.session.scalar(select(AuthSession))
    row.expires_at = now - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/organise/").status_code == 302


def test_a_forged_session_key_signs_no_one_in(client, make, auth):
    user = make.organiser()
    key = auth.login_as(user)
    session_id = key.split(".")[0]
    for forged in (f"{session_id}.wrong", str(user.id), "", "1." + "A" * 43, "x" * 500):
        with client.session_transaction() as sess:
            sess["_user_id"] = forged
        assert client.get("/organise/").status_code == 302


def test_password_checks_cost_the_same_for_unknown_emails(make, monkeypatch):
    make.organiser(email="known@example.com")
    calls = []
    real = accounts.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    import eventtrack.models.user as user_model

    monkeypatch.setattr(user_model, "check_password_hash", counting)
    assert accounts.authenticate("known@example.com", "wrong password!") is None
    assert accounts.authenticate("unknown@example.com", "wrong password!") is None
    assert accounts.authenticate("not an email", "wrong password!") is None
    # One scrypt check each, with the same parameters: the same work, whoever asks.
    assert len(calls) == 3 and len(set(calls)) == 1


def test_sign_up_does_the_same_work_for_taken_and_new_addresses(make, monkeypatch, now):
    make.organiser(email="taken@example.com")
    hashed = []
    real = accounts.generate_password_hash
    monkeypatch.setattr(
        accounts, "generate_password_hash", lambda p, method: hashed.append(1) or real(p, method)
    )
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    accounts.request_signup("taken@example.com", "T", "a long password", now)
    accounts.request_signup("new@example.com", "N", "a long password", now)
    after = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert hashed == [1, 1] and after - before == 2


# --- 8. a kiosk ticket checks in one person, once ------------------------------------------


def _ticket(client, code):
    html = client.get(f"/door/in/{code}").get_data(as_text=True)
    return re.search(r'name="ticket" type="hidden" value="([^"]+)"', html).group(1)


def test_a_kiosk_ticket_checks_in_one_person_once(client, make, now):
    group = make.group()
    meeting = make.meeting(group, now=now, starts_in=timedelta(minutes=10))
    code = kiosk.kiosk_code(meeting, now)
    ticket = _ticket(client, code)
    first = client.post(
        f"/door/in/{code}", data={"ticket": ticket, "name": "Ana", "email": "ana@example.com"}
    )
    assert first.status_code == 200 and b"Ana" in first.data
    again = client.post(
        f"/door/in/{code}", data={"ticket": ticket, "name": "Ana", "email": "ana@example.com"}
    )
    assert again.status_code == 200  # the same person again: the same answer
    other = client.post(
        f"/door/in/{code}", data={"ticket": ticket, "name": "Bo", "email": "bo@example.com"}
    )
    assert other.status_code == 409 and b"used already" in other.data
    assert b"Ana" not in other.data
    assert db.session.scalar(select(User).where(User.email == "bo@example.com")) is None
    # A fresh scan gives a fresh ticket.
    fresh = client.post(
        f"/door/in/{code}",
        data={"ticket": _ticket(client, code), "name": "Bo", "email": "bo@example.com"},
    )
    assert fresh.status_code == 200


def test_a_pass_holder_checks_in_at_the_kiosk_without_typing(client, make, now):
    group = make.group()
    meeting = make.meeting(group, now=now, starts_in=timedelta(minutes=10))
    reg = make.registration(meeting, make.member(group, name="Pia Pass"))
    client.get(f"/p/{reg.pass_token}")
    page = client.get(f"/door/in/{kiosk.kiosk_code(meeting, now)}")
    assert page.status_code == 200 and b'name="ticket"' not in page.data
    db.session.expire_all()
    assert reg.checked_in_at is not None and reg.checkin_how == "kiosk"


# --- 4. the "we met" form names only people checked in there -------------------------------


def test_we_met_form_cannot_list_the_installations_users(client, make, auth, now):
    group = make.group()
    meeting = make.meeting(group, now=now, starts_in=timedelta(minutes=-5))
    me = make.member(group)
    make.registration(meeting, me, checked_in_at=now)
    stranger = make.user(name="Secret Stranger")  # in no group of mine
    absent = make.member(group, name="Absent Abe")
    make.registration(meeting, absent)  # registered, not checked in
    auth.login_as(me)
    for user_id in (stranger.id, absent.id, 999_999):
        page = client.post(f"/e/{meeting.id}/met/{user_id}", follow_redirects=True)
        assert b"Secret Stranger" not in page.data and b"Absent Abe" not in page.data
        assert b"No such person here" in page.data


REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_answers() -> bool:
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_limits_in_redis_hold_across_servers(limited_app, make):
    """Two app processes (two servers) sharing Redis: a limit hit on one holds on the other."""
    if not _redis_answers():
        pytest.skip(f"Redis at {REDIS_URL} does not answer: the shared-limit test needs it")
    import secrets

    shared = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": secrets.token_hex(6)}
    first, second = limited_app(**shared), limited_app(**shared)
    with first.app_context():
        make.organiser(email="victim@example.com")
        one = first.test_client()
        codes = [_guess(one, "victim@example.com", "nope nope", f"10.0.0.{i}") for i in range(10)]
        assert codes == [200] * 10
        db.session.remove()
        db.engine.dispose()  # this "server" is done: give its connections back
    with second.app_context():
        two = second.test_client()
        assert _guess(two, "victim@example.com", "correct horse battery", "10.0.0.99") == 429
        db.session.remove()
        db.engine.dispose()


def test_redis_away_the_limits_still_hold_in_each_process_and_nothing_answers_500(
    limited_app, make
):
    """The shared store unreachable (a closed port): every request is answered as usual and the
    limits are counted in the process's own memory until Redis answers again."""
    from eventtrack.extensions import limiter
    from tests.production.cluster import free_port

    app = limited_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    try:
        with app.app_context():
            make.organiser(email="victim@example.com")
            client = app.test_client()
            codes = [
                _guess(client, "victim@example.com", f"guess {i}!", f"198.51.100.{i}")
                for i in range(12)
            ]
            assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
            assert client.get("/login").status_code == 200
            db.session.remove()
            db.engine.dispose()
    finally:
        limiter._storage_dead = False  # one limiter object serves every app of this process


def test_an_expired_pass_mails_its_inbox_a_few_times_an_hour_at_most(limited_app, make, now):
    app = limited_app()
    with app.app_context():
        group = make.group()
        old = make.meeting(group, now=now, starts_in=-timedelta(days=40))
        mine = make.registration(old, make.member(group))
        other = make.registration(old, make.member(group))
        client = app.test_client()

        def ask(reg, ip):
            return client.post(
                f"/p/{reg.pass_token}/sign-in-link", headers={"X-Forwarded-For": ip}
            ).status_code

        assert [ask(mine, f"192.0.2.{i}") for i in range(6)] == [200] * 5 + [429]
        assert ask(other, "192.0.2.50") == 200  # another member's pass has its own count
        db.session.remove()
        db.engine.dispose()
