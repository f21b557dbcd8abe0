"""POST /api/v1/checkins and GET /api/v1/meetings/{id}/attendance, including real concurrent
HTTP requests against a threaded server on 127.0.0.1."""

import contextlib
import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from eventtrack.extensions import db
from eventtrack.models import Registration
from eventtrack.models.checkin import CheckinEvent
from eventtrack.services.checkin import CheckinResult
from eventtrack.web.api import checkins
from tests import factories


@pytest.fixture
def door(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=15), now=now)
    ana = make.member(group, name="Ana Ruiz")

    class Door:
        token = factories.api_token(organiser, now)

    d = Door()
    d.organiser, d.group, d.meeting = organiser, group, meeting
    d.reg = make.registration(meeting, ana)
    return d


def post(client, door, body, token=None):
    headers = {"Authorization": f"Bearer {token or door.token}"}
    return client.post("/api/v1/checkins", json=body, headers=headers)


def checked_in(reg) -> bool:
    db.session.expire_all()
    return db.session.get(Registration, reg.id).checked_in_at is not None


def test_check_in_needs_a_bearer_token(door, client):
    response = client.post("/api/v1/checkins", json={"token": door.reg.pass_token})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert not checked_in(door.reg)


def test_check_in_answers_201_then_200_with_the_first_time(door, client):
    first = post(client, door, {"token": door.reg.pass_token, "meeting_id": door.meeting.id})
    second = post(client, door, {"token": door.reg.pass_token})

    assert first.status_code == 201
    body = first.get_json()
    assert body["status"] == "checked_in"
    assert (body["registration_id"], body["name"], body["first_time"]) == (
        door.reg.id,
        "Ana Ruiz",
        True,
    )
    assert second.status_code == 200
    assert second.get_json()["status"] == "already_checked_in"
    assert second.get_json()["checked_in_at"] == body["checked_in_at"]


def test_each_refusal_has_its_own_status_and_checks_nobody_in(door, client, make, now):
    other_meeting = make.meeting(door.group, starts_in=timedelta(days=20), now=now)
    other = make.registration(other_meeting)
    cancelled = make.registration(door.meeting, status="cancelled")
    later_meeting = make.meeting(door.group, starts_in=timedelta(days=2), now=now)
    too_early = make.registration(later_meeting)
    m = door.meeting.id

    cases = [
        ({"token": door.reg.pass_token[:-5], "meeting_id": m}, 404, "invalid"),
        ({"token": "Z" * 24, "meeting_id": m}, 404, "invalid"),
        ({"token": other.pass_token, "meeting_id": m}, 409, "not_this_meeting"),
        ({"token": cancelled.pass_token, "meeting_id": m}, 409, "cancelled"),
        ({"token": too_early.pass_token}, 409, "not_open"),
    ]
    for body, code, status in cases:
        response = post(client, door, body)
        assert (response.status_code, response.get_json()["status"]) == (code, status), body

    assert not any(checked_in(r) for r in (door.reg, other, cancelled, too_early))


def test_another_organisers_meeting_is_not_found(door, client, make, now):
    stranger = make.organiser()
    token = factories.api_token(stranger, now)
    response = post(
        client, door, {"token": door.reg.pass_token, "meeting_id": door.meeting.id}, token
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    # without a meeting the pass is simply unknown to them
    response = post(client, door, {"token": door.reg.pass_token}, token)
    assert (response.status_code, response.get_json()["status"]) == (404, "invalid")
    assert not checked_in(door.reg)


def test_replayed_nonce_is_a_no_op(door, client):
    body = {"token": door.reg.pass_token, "nonce": "0123456789abcdef"}
    first = post(client, door, body)
    replay = post(client, door, body)

    assert first.status_code == replay.status_code == 201
    assert replay.get_json()["replayed"] is True
    assert db.session.scalar(select(func.count()).select_from(CheckinEvent)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": ""},
        {"token": "x", "nonce": "no spaces allowed"},
        {"token": "x", "meeting_id": "a"},
    ],
)
def test_malformed_request_is_422_with_fields(door, client, body):
    response = post(client, door, body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]


def test_attendance_gives_live_counts(door, client, make, now):
    post(client, door, {"token": door.reg.pass_token})
    make.registration(door.meeting, status="waitlist")

    response = client.get(
        f"/api/v1/meetings/{door.meeting.id}/attendance",
        headers={"Authorization": f"Bearer {door.token}"},
    )

    assert response.get_json() == {
        "meeting_id": door.meeting.id,
        "registered": 1,
        "checked_in": 1,
        "walk_ins": 0,
        "waitlist": 1,
        "first_timers": 1,
    }


def test_attendance_of_another_organisers_meeting_is_not_found(door, client, make, now):
    token = factories.api_token(make.organiser(), now)
    response = client.get(
        f"/api/v1/meetings/{door.meeting.id}/attendance",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404


def test_openapi_documents_the_check_in_statuses(client):
    doc = client.get("/api/openapi.json").get_json()
    responses = doc["paths"]["/api/v1/checkins"]["post"]["responses"]
    assert {"200", "201", "404", "409"} <= set(responses)
    assert "/api/v1/meetings/{meeting_id}/attendance" in doc["paths"]


# --- Real concurrency over HTTP -------------------------------------------------------------


@contextlib.contextmanager
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(5)


def hammer(port, api_token, bodies, workers):
    """POST each body from ``workers`` threads at once; return (HTTP status, JSON) pairs."""
    gate = threading.Event()

    def one(body):
        gate.wait(30)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request(
                "POST",
                "/api/v1/checkins",
                body=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {api_token}",
                    "Content-Type": "application/json",
                },
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, body) for body in bodies]
        gate.set()
        return [f.result() for f in futures]


def test_fifty_concurrent_requests_for_one_pass_check_in_exactly_once(app, door):
    body = {"token": door.reg.pass_token, "meeting_id": door.meeting.id}
    with live(app) as port:
        answers = hammer(port, door.token, [body] * 50, workers=50)

    codes = sorted(code for code, _ in answers)
    assert codes == [200] * 49 + [201]
    assert sorted(b["status"] for _, b in answers).count("checked_in") == 1
    first_time = {b["checked_in_at"] for _, b in answers}
    assert len(first_time) == 1  # every answer names the one real check-in time
    assert db.session.scalar(select(func.count()).where(CheckinEvent.status == "checked_in")) == 1


def test_five_hundred_passes_at_once_give_five_hundred_check_ins(app, door, make):
    regs = make.registrations(door.meeting, 500)
    bodies = [{"token": r.pass_token, "nonce": f"bulk-nonce-{i:04d}"} for i, r in enumerate(regs)]

    with live(app) as port:
        answers = hammer(port, door.token, bodies, workers=50)

    assert [code for code, _ in answers] == [201] * 500
    assert (
        db.session.scalar(
            select(func.count()).where(
                Registration.meeting_id == door.meeting.id, Registration.checked_in_at.is_not(None)
            )
        )
        == 500
    )
    assert db.session.scalar(select(func.count()).select_from(CheckinEvent)) == 500


@pytest.mark.parametrize(
    "result",
    [
        CheckinResult(
            status="checked_in",
            message="Checked in: Ana Ruiz",
            registration_id=7,
            name="Ana Ruiz",
            checked_in_at=datetime(2026, 11, 23, 18, 42, 5, 123456, tzinfo=UTC),
            first_time=True,
        ),
        CheckinResult(status="invalid", message="Unknown code.", replayed=True),
    ],
)
def test_answer_is_what_the_documented_schema_dumps(app, result):
    with app.test_request_context():
        response = checkins.answer(result)

    assert response.status_code == result.http_status
    assert response.mimetype == "application/json"
    assert response.get_json() == checkins.CheckinOut().dump(result)


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 422),
        ("token=x", "text/plain", 422),
        ("[1, 2]", "application/json", 422),
    ],
)
def test_bad_bodies_are_answered_as_on_the_other_api_routes(
    door, client, data, content_type, status
):
    # /checkins validates its body without webargs (the door's hot path); /groups uses webargs.
    def send(path):
        headers = {"Authorization": f"Bearer {door.token}"}
        response = client.post(path, data=data, content_type=content_type, headers=headers)
        error = response.get_json()["error"]
        fields = {"<required>" if k in ("token", "name") else k for k in error.get("fields", {})}
        return response.status_code, error["code"], fields

    assert send("/api/v1/checkins") == send("/api/v1/groups")
    assert send("/api/v1/checkins")[0] == status
