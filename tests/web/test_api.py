import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Meeting, OutboxMessage, Registration
from tests import factories


@pytest.fixture
def api(client, make, now):
    """A client for the API as an organiser with a bearer token."""
    user = make.organiser()
    token = factories.api_token(user, now)

    class Api:
        organiser = user

        def get(self, path, **kw):
            return client.get(path, headers={"Authorization": f"Bearer {token}"}, **kw)

        def post(self, path, **kw):
            return client.post(path, headers={"Authorization": f"Bearer {token}"}, **kw)

    return Api()


MEETING = {
    "title": "Pricing night",
    "starts_at": "2027-03-09T18:30:00+01:00",
    "ends_at": "2027-03-09T21:00:00+01:00",
    "timezone": "Europe/Berlin",
    "capacity": 2,
}


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_pages_cannot_be_framed_and_leak_no_tokens_in_referers(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/groups",
        "/api/v1/meetings",
        "/api/v1/meetings/{meeting_id}/registrations",
    ):
        assert path in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    meeting_in = spec["components"]["schemas"]["MeetingIn"]
    assert set(meeting_in["required"]) >= {"title", "starts_at", "ends_at", "timezone"}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic abc"])
def test_api_needs_a_valid_bearer_token(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/groups", json={"name": "G"}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_full_flow_group_member_meeting_registration(api):
    group = api.post("/api/v1/groups", json={"name": "Circle", "timezone": "Europe/Berlin"})
    assert group.status_code == 201
    gid = group.get_json()["id"]
    added = api.post(
        f"/api/v1/groups/{gid}/members", json={"name": "Ada", "email": "Ada@Example.com"}
    )
    assert added.status_code == 201
    again = api.post(
        f"/api/v1/groups/{gid}/members", json={"name": "A", "email": "ada@example.com"}
    )
    assert again.status_code == 200 and again.get_json()["user_id"] == added.get_json()["user_id"]

    created = api.post("/api/v1/meetings", json={**MEETING, "group_id": gid})
    assert created.status_code == 201
    [meeting] = created.get_json()["meetings"]
    assert meeting["starts_at"] == "2027-03-09T17:30:00+00:00"

    reg = api.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={"email": "ada@example.com"}
    )
    assert reg.status_code == 201
    body = reg.get_json()
    assert body["status"] == "going"
    assert "pass_token" not in body and "pass_url" not in body
    repeat = api.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={"user_id": body["user_id"]}
    )
    assert repeat.status_code == 200 and repeat.get_json()["id"] == body["id"]
    listing = api.get(f"/api/v1/meetings/{meeting['id']}/registrations").get_json()
    assert [r["email"] for r in listing["registrations"]] == ["ada@example.com"]
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["group_notice", "pass"]


def test_series_through_the_api(api, make):
    group = make.group(api.organiser)
    response = api.post(
        "/api/v1/meetings",
        json={**MEETING, "group_id": group.id, "recurrence": "weekly", "count": 3},
    )
    assert len(response.get_json()["meetings"]) == 3


def test_another_organisers_objects_answer_404(api, make):
    other = make.group(make.organiser())
    meeting = make.meeting(other)
    for response in (
        api.post(
            f"/api/v1/groups/{other.id}/members", json={"name": "X", "email": "x@example.com"}
        ),
        api.get(f"/api/v1/groups/{other.id}/members"),
        api.post("/api/v1/meetings", json={**MEETING, "group_id": other.id}),
        api.get(f"/api/v1/meetings/{meeting.id}"),
        api.get(f"/api/v1/meetings/{meeting.id}/registrations"),
        api.post(f"/api/v1/meetings/{meeting.id}/registrations", json={"user_id": 1}),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 1


def test_bad_json_is_400(api):
    response = api.post("/api/v1/groups", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
    ],
)
def test_missing_or_bad_group_fields_are_422_naming_the_field(api, body, field):
    response = api.post("/api/v1/groups", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert field in error["fields"] and field in error["message"]


def test_bad_timezone_is_422_with_field(api):
    response = api.post("/api/v1/groups", json={"name": "G", "timezone": "Mars/Base"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"timezone": ["Unknown timezone 'Mars/Base'."]}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ends_at": "2027-03-09T18:00:00+01:00"}, "ends_at"),
        ({"starts_at": "2027-03-09T18:30:00"}, "starts_at"),  # naive: which timezone?
        ({"capacity": 0}, "capacity"),
        ({"title": None}, "title"),
    ],
)
def test_bad_meeting_fields_are_422(api, make, change, field):
    group = make.group(api.organiser)
    response = api.post("/api/v1/meetings", json={**MEETING, "group_id": group.id, **change})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_register_a_non_member_is_422(api, make):
    meeting = make.meeting(make.group(api.organiser))
    stranger = make.user()
    response = api.post(
        f"/api/v1/meetings/{meeting.id}/registrations", json={"user_id": stranger.id}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "user_id": ["Not a member of this meeting's group."]
    }
    both = api.post(
        f"/api/v1/meetings/{meeting.id}/registrations",
        json={"user_id": 1, "email": "a@example.com"},
    )
    assert both.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
