"""API v1: POST/GET /api/v1/meetings/{id}/connections (pairs with how and when, never notes)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Connection
from eventtrack.services import accounts, connections
from eventtrack.transaction import atomic


@pytest.fixture
def setup(client, make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=-30), now=now)
    ada = make.member(group, name="Ada Lovelace")
    grace = make.member(group, name="Grace Hopper")
    late = make.member(group, name="Late Larry")
    regs = {
        "ada": make.registration(meeting, ada, checked_in_at=now),
        "grace": make.registration(meeting, grace, checked_in_at=now),
        "late": make.registration(meeting, late),
    }
    with atomic():
        token = accounts.new_api_token(organiser, now)
    headers = {"Authorization": f"Bearer {token}"}

    class Setup:
        pass

    s = Setup()
    s.meeting, s.regs, s.organiser, s.ada, s.grace = meeting, regs, organiser, ada, grace
    s.url = f"/api/v1/meetings/{meeting.id}/connections"
    s.get = lambda path=s.url: client.get(path, headers=headers)
    s.post = lambda body, path=s.url: client.post(path, json=body, headers=headers)
    return s


def _count():
    return db.session.scalar(select(func.count()).select_from(Connection))


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_needs_a_valid_bearer_token(client, setup, header):
    headers = {"Authorization": header} if header else {}
    response = client.get(setup.url, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.post(setup.url, json={"a": 1, "b": 2}, headers=headers).status_code == 401


def test_post_records_a_pair_once_and_get_lists_it_without_notes(setup):
    ada, grace = setup.regs["ada"], setup.regs["grace"]
    response = setup.post({"a": grace.id, "b": ada.id})
    assert response.status_code == 201
    body = response.get_json()
    assert body["how"] == "organiser_round" and body["meeting_id"] == setup.meeting.id
    assert {body["a"]["registration_id"], body["b"]["registration_id"]} == {ada.id, grace.id}
    assert body["a"]["user_id"] < body["b"]["user_id"]  # stored ordered
    assert body["created_at"].endswith("+00:00")
    again = setup.post({"a": ada.id, "b": grace.id})
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert _count() == 1
    conn = db.session.get(Connection, body["id"])
    conn.note_a, conn.note_b = "private A", "private B"
    db.session.commit()
    listed = setup.get()
    assert listed.status_code == 200
    (pair,) = listed.get_json()["connections"]
    assert set(pair) == {"id", "meeting_id", "a", "b", "how", "created_at"}
    assert "private" not in listed.get_data(as_text=True)


def test_how_can_be_given_and_is_checked(setup):
    ada, grace = setup.regs["ada"], setup.regs["grace"]
    assert setup.post({"a": ada.id, "b": grace.id, "how": "scan"}).get_json()["how"] == "scan"
    bad = setup.post({"a": ada.id, "b": grace.id, "how": "telepathy"})
    assert bad.status_code == 422 and "how" in bad.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"b": 1}, "a"), ({"a": 1}, "b"), ({"a": "x", "b": 1}, "a"), ({"a": 1, "b": 1}, "b")],
)
def test_bad_bodies_are_422_naming_the_field(setup, body, field):
    response = setup.post(body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _count() == 0


def test_both_must_be_checked_in(setup):
    response = setup.post({"a": setup.regs["ada"].id, "b": setup.regs["late"].id})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "not_checked_in" and "Late Larry" in error["message"]
    assert _count() == 0


def test_registration_of_another_meeting_is_refused(setup, make, now):
    other = make.meeting(setup.meeting.group, now=now)
    stray = make.registration(other, setup.ada, checked_in_at=now)
    response = setup.post({"a": stray.id, "b": setup.regs["grace"].id})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_this_meeting"
    assert "a" in response.get_json()["error"]["fields"]
    assert _count() == 0


def test_another_organisers_meeting_is_404(setup, make, now):
    foreign = make.meeting(make.group(make.organiser()), now=now)
    path = f"/api/v1/meetings/{foreign.id}/connections"
    assert setup.get(path).status_code == 404
    assert setup.post({"a": 1, "b": 2}, path).status_code == 404


def test_attendee_connections_appear_in_the_listing_with_how(setup, now):
    with atomic():
        connections.record_connection(setup.meeting, setup.ada, setup.grace, "list", "mine", now)
    (pair,) = setup.get().get_json()["connections"]
    assert pair["how"] == "list"
    assert {pair["a"]["name"], pair["b"]["name"]} == {"Ada Lovelace", "Grace Hopper"}


def test_openapi_documents_the_connection_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    path = spec["paths"]["/api/v1/meetings/{meeting_id}/connections"]
    assert {"get", "post"} <= set(path)
    assert "requestBody" in path["post"]
    assert {"200", "201"} <= set(path["post"]["responses"])
    assert "note" not in str(spec["components"]["schemas"].get("ConnectionOut", {}))
    assert "ConnectionOut" in spec["components"]["schemas"]
