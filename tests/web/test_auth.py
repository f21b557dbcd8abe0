import re

import pytest
from sqlalchemy import select

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.models import OutboxMessage


def test_login_with_wrong_password_says_so(client, make):
    make.organiser(email="o@example.com")
    response = client.post("/login", data={"email": "o@example.com", "password": "nope nope"})
    assert response.status_code == 200
    assert b"do not match" in response.data


@pytest.mark.parametrize(
    "next_url, expected",
    [
        ("/organise/groups/new", "/organise/groups/new"),
        ("https://evil.example/steal", "/organise/"),
        ("//evil.example/steal", "/organise/"),
        ("/\\evil.example", "/organise/"),
        ("javascript:alert(1)", "/organise/"),
    ],
)
def test_login_redirects_only_to_local_next(client, make, next_url, expected):
    make.organiser(email="o@example.com")
    response = client.post(
        "/login",
        data={"email": "o@example.com", "password": make.PASSWORD, "next": next_url},
    )
    assert response.status_code == 302
    assert response.location == expected


@pytest.mark.parametrize(
    "path",
    [
        "/organise/",
        "/organise/groups/new",
        "/organise/groups/1",
        "/organise/meetings/1",
        "/me",
        "/m/1",
    ],
)
def test_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.location


def _link_from_outbox():
    mail = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    return re.search(r"http://eventtrack\.test(/login/link/\S+)", mail.body_text).group(1)


def test_email_link_sign_in_needs_a_click_and_works_once(client, make):
    user = make.user(email="m@example.com", name="Mia Member")
    response = client.post("/login/link", data={"email": "m@example.com", "next": "/me"})
    assert b"If m@example.com has an account" in response.data
    path = _link_from_outbox()
    page = client.get(path)  # a mail scanner fetching the link must not use it up
    assert page.status_code == 200 and b"Mia Member" in page.data
    assert client.get("/me").status_code == 302
    response = client.post(path)
    assert response.status_code == 302 and response.location == "/me"
    assert client.get("/me").status_code == 200
    client.post("/logout")
    assert client.post(path).status_code == 410
    assert user.id


def test_email_link_form_answers_the_same_for_unknown_addresses(client, make):
    make.user(email="known@example.com")
    known = client.post("/login/link", data={"email": "known@example.com"})
    unknown = client.post("/login/link", data={"email": "unknown@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.data.replace(b"known@", b"X@").replace(b"unX@", b"X@") == unknown.data.replace(
        b"unknown@", b"X@"
    )


def test_forms_require_csrf_when_enabled(app_config, _schema):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        client = app.test_client()
        response = client.post("/login", data={"email": "o@example.com", "password": "x" * 12})
        assert response.status_code == 400
        assert b"CSRF" in response.data
        db.session.remove()
        db.engine.dispose()


def test_login_is_rate_limited(app_config, _schema):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True})
    with app.app_context():
        client = app.test_client()
        # Twenty guesses a minute from one address, spread over accounts …
        codes = [
            client.post(
                "/login", data={"email": f"o{i}@example.com", "password": "y" * 12}
            ).status_code
            for i in range(21)
        ]
        assert codes[:20] == [200] * 20 and codes[20] == 429
        page = client.post("/login", data={"email": "o@example.com", "password": "y" * 12})
        assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
        assert b"Please try again in" in page.data
        db.session.remove()
        db.engine.dispose()
