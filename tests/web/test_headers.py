"""Security headers on every answer, cookies that never travel in clear text over https, and
templates that the Content-Security-Policy lets run (no inline script, handler or style)."""

import re
from pathlib import Path

import pytest
from flask_login.config import COOKIE_NAME
from werkzeug.exceptions import InternalServerError

from eventtrack import create_app
from eventtrack.extensions import db
from tests.factories import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HSTS = "max-age=31536000; includeSubDomains"


def policy(response) -> dict[str, str]:
    """Parse the response's Content-Security-Policy into {directive: sources}."""
    header = response.headers["Content-Security-Policy"]
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


@pytest.fixture
def https_app(app_config):
    """The app as served behind TLS at an https BASE_URL."""
    app = create_app(dict(app_config, BASE_URL="https://meet.example.org"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def failing_client(app):
    """A client of an app with a view that raises, answered with the 500 page."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    return app.test_client()


PAGES = [
    ("/login", 200, "text/html"),  # a page
    ("/healthz", 200, "application/json"),
    ("/api/openapi.json", 200, "application/json"),
    ("/static/js/scanner.js", 200, "text/javascript"),
    ("/no-such-page", 404, "text/html"),  # error page
    ("/api/v1/no-such-thing", 404, "application/json"),  # JSON error
    ("/api/v1/meetings/1", 401, "application/json"),  # no bearer token
]


@pytest.mark.parametrize(("path", "status", "mimetype"), PAGES)
def test_every_answer_carries_the_policy_and_its_companions(client, path, status, mimetype):
    with client.get(path) as response:
        assert (response.status_code, response.mimetype) == (status, mimetype)
    assert policy(response) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"  # tokens are in URLs


def test_server_error_page_carries_the_policy(failing_client):
    response = failing_client.get("/boom")
    assert response.status_code == InternalServerError.code
    assert policy(response)["script-src"] == "'self'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_hsts_when_served_over_http(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


@pytest.mark.parametrize("path", ["/login", "/healthz", "/no-such-page"])
def test_hsts_for_a_year_when_served_over_https(https_app, path):
    response = https_app.test_client().get(path)
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert policy(response)["frame-ancestors"] == "'none'"


# --- Cookies ---------------------------------------------------------------------------------


def sign_in_cookies(app, email: str) -> dict[str, str]:
    """Sign in with a password on ``app``; return {cookie name: its Set-Cookie header}."""
    response = app.test_client().post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookies[header.split("=", 1)[0]] = header
    names = (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME))
    assert set(names) <= set(cookies), cookies
    return {name: cookies[name] for name in names}


def attributes(set_cookie: str) -> set[str]:
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


def test_sign_in_cookies_are_secure_over_https(https_app, make):
    user = make.organiser()
    for header in sign_in_cookies(https_app, user.email).values():
        assert {"secure", "httponly", "samesite=lax"} <= attributes(header), header


def test_sign_in_cookies_work_over_plain_http(app, make):
    # An http install (make run on 127.0.0.1) must not send Secure cookies the browser drops.
    user = make.organiser()
    for header in sign_in_cookies(app, user.email).values():
        assert "secure" not in attributes(header), header
        assert {"httponly", "samesite=lax"} <= attributes(header), header


# --- Templates the policy lets run -----------------------------------------------------------

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
JSON_DATA = re.compile(r"""\btype\s*=\s*["']application/(ld\+)?json["']""", re.IGNORECASE)
FORBIDDEN = {
    "inline event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript\s*:", re.IGNORECASE),
    "inline style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "<style> block": re.compile(r"<style\b", re.IGNORECASE),
}


def served_templates() -> list[Path]:
    """Every template a browser renders: all but mail, which never carries our headers."""
    return sorted(
        path
        for path in TEMPLATES.rglob("*.html")
        if path.relative_to(TEMPLATES).parts[0] != "email"
    )


def csp_problems(text: str) -> list[str]:
    """Return what in a template's ``text`` the policy would block."""
    problems = []
    for match in SCRIPT.finditer(text):
        attrs = match.group(1)
        if not re.search(r"\bsrc\s*=", attrs, re.IGNORECASE) and not JSON_DATA.search(attrs):
            problems.append(f"inline script: {match.group(0)}")
    for what, pattern in FORBIDDEN.items():
        problems += [f"{what}: {m.group(0).strip()}" for m in pattern.finditer(text)]
    return problems


def test_there_are_served_templates_to_scan():
    names = {str(p.relative_to(TEMPLATES)) for p in served_templates()}
    assert {"base.html", "door/scanner.html", "door/kiosk.html"} <= names
    assert not any(name.startswith("email/") for name in names)


@pytest.mark.parametrize("path", served_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_nothing_the_policy_blocks(path):
    assert csp_problems(path.read_text()) == []


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<script type="module">go()</script>',
        '<button onclick="go()">Go</button>',
        "<a href='javascript:go()'>Go</a>",
        '<p style="color: red">',
        "<style>p { color: red }</style>",
    ],
)
def test_the_scan_catches_what_the_policy_blocks(text):
    assert csp_problems(text)


@pytest.mark.parametrize(
    "text",
    [
        '<script src="/static/js/door.js"></script>',
        '<script type="application/json" id="config">{"step": 30}</script>',
        '<input data-online="1" name="once">',
        '<link rel="stylesheet" href="/static/css/app.css">',
    ],
)
def test_the_scan_lets_what_the_policy_allows(text):
    assert csp_problems(text) == []
