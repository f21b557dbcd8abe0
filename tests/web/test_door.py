"""Door pages through the test client: organiser scanner, one-tap, manual list, kiosk, poster,
live view, and the attendee's self check-in."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage, Registration, User, utcnow
from eventtrack.models.checkin import CheckinEvent
from eventtrack.services import checkin, kiosk, members
from tests.factories import forged
from tests.qr import decode


@pytest.fixture
def door(make, now, auth):
    """A signed-in organiser with a meeting whose check-in is open, and Ana registered."""
    organiser = make.organiser()
    group = make.group(organiser, name="Product Circle")
    meeting = make.meeting(group, starts_in=timedelta(minutes=15), now=now, title="March meetup")
    ana = make.member(group, name="Ana Ruiz", email="ana@example.com", company="Acme")
    reg = make.registration(meeting, ana)
    members.mark_engaged(group.id, ana.id, now)  # she took part before: her profile shows
    db.session.commit()
    auth.login_as(organiser)

    class Door:
        pass

    d = Door()
    d.organiser, d.group, d.meeting, d.ana, d.reg = organiser, group, meeting, ana, reg
    return d


def fresh(reg):
    db.session.expire_all()
    return db.session.get(Registration, reg.id)


ORGANISER_PAGES = [
    ("get", "/door/m/{m}"),
    ("get", "/door/m/{m}/scan"),
    ("post", "/door/m/{m}/scan"),
    ("get", "/door/m/{m}/manual"),
    ("post", "/door/m/{m}/walk-in"),
    ("get", "/door/m/{m}/kiosk"),
    ("get", "/door/m/{m}/kiosk/qr.svg"),
    ("get", "/door/m/{m}/poster"),
    ("get", "/door/m/{m}/poster/qr.svg"),
    ("post", "/door/registrations/{r}/checkin"),
    ("post", "/door/registrations/{r}/undo"),
]


@pytest.mark.parametrize(("method", "path"), ORGANISER_PAGES)
def test_organiser_pages_need_sign_in(door, client, auth, method, path):
    auth.logout()
    response = getattr(client, method)(path.format(m=door.meeting.id, r=door.reg.id))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path"), ORGANISER_PAGES)
def test_another_organisers_door_is_not_found(door, client, auth, make, method, path):
    auth.login_as(make.organiser())
    response = getattr(client, method)(path.format(m=door.meeting.id, r=door.reg.id), json={})
    assert response.status_code == 404
    assert fresh(door.reg).checked_in_at is None


# --- Scanner --------------------------------------------------------------------------------


def test_scanner_page_carries_csrf_token_and_local_decoder(door, client):
    html = client.get(f"/door/m/{door.meeting.id}/scan").get_data(as_text=True)

    assert '<meta name="csrf-token"' in html
    assert "/static/vendor/qr-scanner/qr-scanner.umd.min.js" in html
    assert "/static/js/scanner.js" in html
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere


def test_scanner_page_fits_the_phone_budget(door, client):
    html = client.get(f"/door/m/{door.meeting.id}/scan").get_data()
    own = [
        src
        for src in re.findall(rb'(?:src|href)="(/static/[^"]+)"', html)
        if b"/vendor/" not in src
    ]
    assert sorted(own) == [b"/static/css/door.css", b"/static/js/scanner.js"]
    total = len(html)
    for src in own:
        with client.get(src.decode()) as response:  # static files must be closed
            total += len(response.get_data())
    assert total < 30 * 1024


def test_scan_json_checks_in_then_reports_the_first_time(door, client):
    url = f"/door/m/{door.meeting.id}/scan"

    first = client.post(url, json={"code": door.reg.pass_token, "nonce": "nonce-aaaa-1"})
    second = client.post(url, json={"code": door.reg.pass_token, "nonce": "nonce-aaaa-2"})

    assert first.status_code == 201
    assert first.get_json()["message"] == "Checked in: Ana Ruiz"
    assert first.get_json()["first_time"] is True
    assert second.status_code == 200
    body = second.get_json()
    assert body["status"] == "already_checked_in"
    assert body["checked_in_local"] in body["message"]


def test_scan_json_replayed_nonce_changes_nothing(door, client):
    url = f"/door/m/{door.meeting.id}/scan"
    payload = {"code": door.reg.pass_token, "nonce": "retry-after-drop"}

    assert client.post(url, json=payload).status_code == 201
    replay = client.post(url, json=payload)

    assert replay.status_code == 201
    assert replay.get_json()["replayed"] is True
    assert db.session.scalar(select(func.count()).select_from(CheckinEvent)) == 1


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"code": "not-a-real-pass-token"}, 404),
        ({"code": 42}, 400),
        ({}, 400),
        ({"code": "x", "nonce": "has spaces in it"}, 422),
    ],
)
def test_scan_json_bad_input(door, client, payload, status):
    response = client.post(f"/door/m/{door.meeting.id}/scan", json=payload)
    assert response.status_code == status
    assert response.is_json
    assert fresh(door.reg).checked_in_at is None


def test_scan_json_accepts_a_pass_url_typed_in(door, client):
    url = f"http://eventtrack.test/p/{door.reg.pass_token}"
    response = client.post(f"/door/m/{door.meeting.id}/scan", json={"code": url})
    assert response.status_code == 201


def test_scan_json_refuses_a_post_without_csrf_token(door, client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/door/m/{door.meeting.id}/scan"
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    refused = client.post(url, json={"code": door.reg.pass_token})
    assert refused.status_code == 400
    assert fresh(door.reg).checked_in_at is None

    accepted = client.post(url, json={"code": door.reg.pass_token}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


# --- One tap on a pass page ----------------------------------------------------------------


def test_organiser_checks_in_from_a_pass_url_with_one_tap(door, client):
    response = client.post("/door/pass", data={"token": door.reg.pass_token})

    assert response.status_code == 201
    assert "Checked in: Ana Ruiz" in response.get_data(as_text=True)
    assert fresh(door.reg).checkin_how == "pass_scan"


def test_one_tap_by_someone_who_does_not_organise_the_meeting_is_invalid(door, client, auth, make):
    auth.login_as(make.organiser())
    response = client.post("/door/pass", data={"token": door.reg.pass_token})
    assert response.status_code == 404
    assert "Ana" not in response.get_data(as_text=True)
    assert fresh(door.reg).checked_in_at is None


def test_one_tap_needs_a_token(door, client):
    assert client.post("/door/pass", data={}).status_code == 400


# --- Manual list, walk-ins, undo ------------------------------------------------------------


@pytest.mark.parametrize("query", ["ruiz", "ANA@EXAMPLE", "acme"])
def test_manual_search_as_you_type_finds_by_name_email_company(door, client, make, query):
    make.registration(door.meeting, make.member(door.group, name="Bob Other"))

    html = client.get(f"/door/m/{door.meeting.id}/manual?q={query}&partial=1").get_data(
        as_text=True
    )

    assert "Ana Ruiz" in html and "Bob Other" not in html
    assert "<html" not in html  # a fragment for the page to swap in


def test_manual_search_output_is_escaped(door, client, make):
    make.registration(door.meeting, make.member(door.group, name="<b>Bold</b>"))
    html = client.get(f"/door/m/{door.meeting.id}/manual?q=bold").get_data(as_text=True)
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html


def test_manual_check_in_and_undo(door, client):
    checked = client.post(f"/door/registrations/{door.reg.id}/checkin", data={"q": "ana"})
    assert checked.status_code == 302 and "q=ana" in checked.headers["Location"]
    assert fresh(door.reg).checkin_how == "manual"

    client.post(f"/door/registrations/{door.reg.id}/undo")
    assert fresh(door.reg).checked_in_at is None
    actions = db.session.scalars(select(CheckinEvent.action).order_by(CheckinEvent.id)).all()
    assert actions == ["checkin", "undo"]
    page = client.get(f"/door/m/{door.meeting.id}/manual").get_data(as_text=True)
    assert "Check-in undone: Ana Ruiz" in page


def test_walk_in_form_adds_member_registers_and_checks_in(door, client):
    response = client.post(
        f"/door/m/{door.meeting.id}/walk-in",
        data={"name": "Wanda Walker", "email": "wanda@example.com", "company": ""},
        follow_redirects=True,
    )

    assert "Checked in: Wanda Walker" in response.get_data(as_text=True)
    reg = db.session.scalar(
        select(Registration)
        .join(User, User.id == Registration.user_id)
        .where(User.email == "wanda@example.com")
    )
    assert (reg.checkin_how, reg.status) == ("walk_in", "going")


def test_walk_in_form_with_bad_email_shows_the_error(door, client):
    response = client.post(
        f"/door/m/{door.meeting.id}/walk-in", data={"name": "W", "email": "nope"}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


# --- Live view ------------------------------------------------------------------------------


def test_live_view_shows_counts_last_scans_and_first_timers(door, client, make, now):
    checkin.check_in(door.meeting.id, door.reg.pass_token, door.organiser.id, now)
    checkin.check_in(door.meeting.id, "made-up-token-xyz", door.organiser.id, now)

    html = client.get(f"/door/m/{door.meeting.id}").get_data(as_text=True)
    partial = client.get(f"/door/m/{door.meeting.id}?partial=1").get_data(as_text=True)

    assert 'data-count="checked_in">1<' in html
    assert 'data-count="registered">1<' in html
    assert "Unknown code" in html
    assert "first time" in html
    assert "Ana Ruiz" in partial and "<html" not in partial


# --- Kiosk and poster -----------------------------------------------------------------------


def test_kiosk_qr_is_a_current_self_check_in_link(door, client, tmp_path):
    page = client.get(f"/door/m/{door.meeting.id}/kiosk").get_data(as_text=True)
    assert "/static/js/kiosk.js" in page

    svg = client.get(f"/door/m/{door.meeting.id}/kiosk/qr.svg")
    assert svg.headers["Cache-Control"] == "no-store"
    url = decode(svg.get_data(), tmp_path)

    assert url.startswith("http://eventtrack.test/door/in/")
    # Verified as a phone would, the moment it is read: the route made the code from the clock,
    # and the ``now`` fixture (whole seconds) can lie a step behind it near a 30 s boundary.
    grant = kiosk.verify(url.rsplit("/", 1)[1], utcnow())
    assert (grant.meeting.id, grant.how) == (door.meeting.id, "kiosk")


def test_poster_shows_a_static_code_for_the_window(door, client, tmp_path, now):
    page = client.get(f"/door/m/{door.meeting.id}/poster").get_data(as_text=True)
    url = decode(client.get(f"/door/m/{door.meeting.id}/poster/qr.svg").get_data(), tmp_path)

    assert url in page
    assert kiosk.verify(url.rsplit("/", 1)[1], now).how == "poster"


# --- Self check-in (attendees) --------------------------------------------------------------


def test_self_check_in_page_asks_for_name_and_email(door, client, auth, now):
    auth.logout()
    response = client.get(f"/door/in/{kiosk.kiosk_code(door.meeting, now)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="email"' in html and 'name="ticket"' in html


def _ticket(client, code):
    html = client.get(f"/door/in/{code}").get_data(as_text=True)
    return re.search(r'name="ticket" type="hidden" value="([^"]+)"', html).group(1)


def test_typing_someone_elses_email_checks_them_in_but_reveals_and_unlocks_nothing(
    door, client, auth, now
):
    auth.logout()
    code = kiosk.kiosk_code(door.meeting, now)

    response = client.post(
        f"/door/in/{code}",
        data={"ticket": _ticket(client, code), "name": "Mallory", "email": "ana@example.com"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Thanks, Mallory! You're checked in." in html
    for secret in ("Ana", "Ruiz", "Acme", door.reg.pass_token):
        assert secret not in html
    assert fresh(door.reg).checkin_how == "kiosk"
    with client.session_transaction() as session:
        assert "_user_id" not in session  # nobody was signed in as Ana
    assert client.get("/me").status_code == 302
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert (mail.kind, mail.recipient) == ("login_link", "ana@example.com")


def test_new_email_at_the_kiosk_becomes_a_walk_in(door, client, auth, now):
    auth.logout()
    code = kiosk.poster_code(door.meeting)

    response = client.post(
        f"/door/in/{code}",
        data={"ticket": _ticket(client, code), "name": "Nina New", "email": "nina@example.com"},
    )

    assert "You're checked in" in response.get_data(as_text=True)
    reg = db.session.scalar(
        select(Registration)
        .join(User, User.id == Registration.user_id)
        .where(User.email == "nina@example.com")
    )
    assert (reg.checkin_how, reg.user.name) == ("walk_in", "Nina New")


def _kiosk_answer(client, door, now):
    """A function: email typed at the kiosk -> the page's main part, as the typist sees it."""
    code = kiosk.kiosk_code(door.meeting, now)

    def answer(email):
        ticket = _ticket(client, code)  # a ticket checks in one person: a fresh one each
        html = client.post(
            f"/door/in/{code}", data={"ticket": ticket, "name": "Sam", "email": email}
        ).get_data(as_text=True)
        return re.search(r'<main id="main".*</main>', html, re.S).group(0)

    return answer


def test_known_and_unknown_emails_get_the_same_answer(door, client, auth, now):
    auth.logout()
    answer = _kiosk_answer(client, door, now)

    assert answer("ana@example.com") == answer("somebody-new@example.com")


def test_cancelled_and_waitlisted_emails_get_a_newcomers_answer(door, client, auth, make, now):
    make.registration(door.meeting, make.member(door.group, email="c@example.com"), "cancelled")
    auth.logout()
    answer = _kiosk_answer(client, door, now)

    assert "checked in" in answer("c@example.com") == answer("new-1@example.com")

    door.meeting.capacity = 3  # now full: Ana, the cancelled one come back, the newcomer
    make.registration(door.meeting, make.member(door.group, email="w@example.com"), "waitlist")
    full = answer("new-2@example.com")
    assert "could not check you in" in full
    assert answer("w@example.com") == full


def test_signed_in_member_with_a_registration_is_checked_in_at_once(door, client, auth, now):
    auth.login_as(door.ana)

    response = client.get(f"/door/in/{kiosk.kiosk_code(door.meeting, now)}")

    assert response.status_code == 200
    assert "Welcome, Ana Ruiz! You're checked in." in response.get_data(as_text=True)
    assert fresh(door.reg).checked_in_by_id == door.ana.id


def test_signed_in_member_without_registration_gets_the_email_form(door, client, auth, make, now):
    auth.login_as(make.member(door.group))
    html = client.get(f"/door/in/{kiosk.kiosk_code(door.meeting, now)}").get_data(as_text=True)
    assert 'name="email"' in html


def test_expired_kiosk_code_checks_nobody_in(door, client, auth, now):
    auth.login_as(door.ana)
    old = kiosk.kiosk_code(door.meeting, now - timedelta(minutes=2))

    response = client.get(f"/door/in/{old}")

    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert fresh(door.reg).checked_in_at is None


def test_poster_outside_the_window_checks_nobody_in(door, client, auth, make, now):
    later = make.meeting(door.group, starts_in=timedelta(days=3), now=now)
    reg = make.registration(later, door.ana)
    auth.login_as(door.ana)

    response = client.get(f"/door/in/{kiosk.poster_code(later)}")

    assert response.status_code == 409
    assert fresh(reg).checked_in_at is None


def test_forged_door_code_is_not_found(door, client, auth, now):
    auth.login_as(door.ana)
    code = kiosk.kiosk_code(door.meeting, now)
    assert client.get(f"/door/in/{forged(code)}").status_code == 404
    assert fresh(door.reg).checked_in_at is None


def test_forged_ticket_checks_nobody_in(door, client, auth, now):
    auth.logout()
    response = client.post(
        "/door/in/whatever",
        data={"ticket": "forged.ticket", "name": "M", "email": "ana@example.com"},
    )
    assert response.status_code == 404
    assert fresh(door.reg).checked_in_at is None


def test_attendee_scanner_page_opens_without_sign_in(client):
    html = client.get("/door/scan-in").get_data(as_text=True)
    assert 'data-mode="navigate"' in html


# --- What a newcomer tripped on (#13) -------------------------------------------------------


@pytest.mark.parametrize("query", ["Özlem", "ÖZLEM", "ozlem"])
def test_manual_search_ignores_case_and_accents(door, client, make, query):
    from eventtrack.models import Membership
    from eventtrack.models.search import fold

    ozlem = make.member(door.group, name="Özlem Şahin", email="os@example.com")
    make.registration(door.meeting, ozlem)
    membership = db.session.scalar(select(Membership).where(Membership.user_id == ozlem.id))
    membership.search_key = fold(membership.typed_name, ozlem.email)  # as it is kept
    db.session.commit()

    html = client.get(f"/door/m/{door.meeting.id}/manual?q={query}&partial=1").get_data(
        as_text=True
    )

    assert "Özlem Şahin" in html and "Ana Ruiz" not in html


def test_manual_list_says_how_many_it_does_not_show(door, client, make):
    make.registrations(door.meeting, 40)  # 41 with Ana

    page = client.get(f"/door/m/{door.meeting.id}/manual").get_data(as_text=True)
    narrowed = client.get(f"/door/m/{door.meeting.id}/manual?q=p1&partial=1").get_data(as_text=True)

    assert "30 of 41 shown — type to search." in page
    assert page.count('class="card row-card"') == 30
    assert "shown" not in narrowed  # p1, p10…p19: all of them


def test_manual_list_of_another_organisers_meeting_is_not_found(door, client, make, auth):
    auth.login_as(make.organiser())
    assert client.get(f"/door/m/{door.meeting.id}/manual?q=ana").status_code == 404


def _full(door, make):
    door.meeting.capacity = 1  # Ana has the one place
    db.session.commit()


def test_kiosk_at_a_full_meeting_says_you_are_on_the_waitlist(door, client, auth, make, now):
    _full(door, make)
    auth.logout()
    code = kiosk.kiosk_code(door.meeting, now)

    response = client.post(
        f"/door/in/{code}",
        data={"ticket": _ticket(client, code), "name": "Nina", "email": "nina@example.com"},
    )

    html = response.get_data(as_text=True)
    assert "You are on the waitlist for March meetup." in html
    assert "could not check you in" in html and "they can still let you in" in html
    assert "Please see an organiser at the door.</small>" not in html


def test_walk_in_of_someone_the_kiosk_waitlisted_counts_as_a_walk_in(door, client, auth, make, now):
    _full(door, make)
    checkin.self_check_in_by_email(door.meeting, "Nina", "nina@example.com", now, "kiosk")
    live = client.get(f"/door/m/{door.meeting.id}").get_data(as_text=True)
    assert 'data-count="walk_ins">0<' in live

    response = client.post(
        f"/door/m/{door.meeting.id}/walk-in",
        data={"name": "Nina", "email": "nina@example.com", "company": ""},
        follow_redirects=True,
    )

    html = response.get_data(as_text=True)
    assert "Checked in: Nina" in html
    assert 'data-count="walk_ins">1<' in html


def test_poster_before_the_window_says_when_check_in_opens(door, client, auth, make, now):
    later = make.meeting(door.group, starts_in=timedelta(hours=3), now=now, title="Evening")
    make.registration(later, door.ana)
    opens = later.local(later.checkin_opens_at).strftime("%H:%M")

    for who in (door.ana, None):  # signed in with a registration, and a stranger
        auth.login_as(who) if who else auth.logout()
        response = client.get(f"/door/in/{kiosk.poster_code(later)}")
        html = response.get_data(as_text=True)
        assert response.status_code == 409
        assert f"Check-in opens at {opens}" in html
        assert "Error 409" not in html and "can't be done" not in html
        assert 'name="email"' not in html


def test_kiosk_code_after_the_window_says_check_in_closed(door, client, auth, now, monkeypatch):
    auth.login_as(door.ana)
    over = now + timedelta(hours=4)
    code = kiosk.kiosk_code(door.meeting, over)
    monkeypatch.setattr("eventtrack.web.door.routes.utcnow", lambda: over)

    response = client.get(f"/door/in/{code}")

    html = response.get_data(as_text=True)
    assert response.status_code == 409
    closes = door.meeting.local(door.meeting.checkin_closes_at).strftime("%H:%M")
    assert f"Check-in closed at {closes}" in html
    assert fresh(door.reg).checked_in_at is None
