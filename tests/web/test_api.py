import csv
import io
import json

import pytest
import schemathesis
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Meeting, OutboxMessage, Registration
from eventtrack.services import exports
from tests import factories


@pytest.fixture
def api(client, make, now):
    """A client for the API as an organiser with a bearer token."""
    user = make.organiser()
    token = factories.api_token(user, now)

    class Api:
        organiser = user

        def get(self, path, headers=None, **kw):
            headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            return client.get(path, headers=headers, **kw)

        def post(self, path, **kw):
            return client.post(path, headers={"Authorization": f"Bearer {token}"}, **kw)

    return Api()


CSV = {"Accept": "text/csv"}

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
        api.get(f"/api/v1/groups/{other.id}/members", headers=CSV),
        api.get(f"/api/v1/meetings/{meeting.id}/registrations", headers=CSV),
        api.get(f"/api/v1/groups/{other.id}/members?page=1&page_size=1"),
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


# --- lists: flask-smorest's pagination, and the same CSV as the export --------------------


@pytest.fixture
def listed(api, make, now):
    """The API organiser's group (the organiser and 5 members, one with a hostile name) and a
    meeting where all 5 are registered, two checked in."""
    group = make.group(api.organiser, name="Data Circle")
    people = [make.member(group, name=n) for n in ("Ana", "=cmd|'/c calc'!A0", "Ben", "Cy", "Di")]
    meeting = make.meeting(group, now=now, title="Pricing night")
    for i, person in enumerate(people):
        present = {"checked_in_at": now, "checkin_how": "manual"} if i < 2 else {}
        make.registration(meeting, person, **present)
    return group, meeting, people


def _list_urls(group, meeting) -> tuple[str, str]:
    group_id = getattr(group, "id", group)
    meeting_id = getattr(meeting, "id", meeting)
    return f"/api/v1/groups/{group_id}/members", f"/api/v1/meetings/{meeting_id}/registrations"


def _pagination(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


def test_member_list_paginates_with_x_pagination(api, listed):
    group, _, _ = listed
    url = f"/api/v1/groups/{group.id}/members"
    first = api.get(f"{url}?page=1&page_size=4")
    second = api.get(f"{url}?page=2&page_size=4")
    assert len(first.get_json()) == 4 and len(second.get_json()) == 2
    assert _pagination(first) == {
        "total": 6,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 1,
        "next_page": 2,
    }
    assert _pagination(second)["previous_page"] == 1 and "next_page" not in _pagination(second)
    emails = [m["email"] for m in first.get_json() + second.get_json()]
    assert len(set(emails)) == 6
    beyond = api.get(f"{url}?page=3&page_size=4")
    assert beyond.status_code == 200 and beyond.get_json() == []
    assert "page" not in _pagination(beyond)
    default = api.get(url)
    assert len(default.get_json()) == 6 and _pagination(default)["total_pages"] == 1


def test_registrations_paginate_inside_their_envelope(api, listed):
    _, meeting, _ = listed
    url = f"/api/v1/meetings/{meeting.id}/registrations"
    pages = [api.get(f"{url}?page={n}&page_size=2") for n in (1, 2, 3)]
    assert [len(p.get_json()["registrations"]) for p in pages] == [2, 2, 1]
    assert {_pagination(p)["total"] for p in pages} == {5}
    ids = [r["id"] for p in pages for r in p.get_json()["registrations"]]
    assert len(set(ids)) == 5
    assert all("pass_token" not in r for p in pages for r in p.get_json()["registrations"])


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=1001", "page=x"])
def test_bad_pagination_arguments_are_422(api, listed, query):
    group, meeting, _ = listed
    for url in (
        f"/api/v1/groups/{group.id}/members",
        f"/api/v1/meetings/{meeting.id}/registrations",
    ):
        response = api.get(f"{url}?{query}")
        assert response.status_code == 422
        assert "error" in response.get_json()


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "X-Pagination" not in response.headers
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8"), newline="")))


def test_member_list_answers_the_export_csv_to_accept_text_csv(api, listed):
    group, _, _ = listed
    response = api.get(f"/api/v1/groups/{group.id}/members?page_size=2", headers=CSV)
    rows = _csv_rows(response)
    assert response.get_data(as_text=True) == exports.members_csv(group)
    assert rows[0] == list(exports.MEMBER_HEADER)
    assert len(rows) == 7  # every member, not a page of two
    assert "'=cmd|'/c calc'!A0" in [r[0] for r in rows]
    assert 'filename="data-circle-members.csv"' in response.headers["Content-Disposition"]


def test_registrations_answer_the_export_csv_to_accept_text_csv(api, listed):
    _, meeting, _ = listed
    response = api.get(f"/api/v1/meetings/{meeting.id}/registrations", headers=CSV)
    rows = _csv_rows(response)
    assert response.get_data(as_text=True) == exports.registrations_csv(meeting)
    assert len(rows) == 6
    assert sorted(r[5] for r in rows[1:]) == ["", "", "", "manual", "manual"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/csv;q=0.5, */*"])
def test_json_unless_csv_is_preferred(api, listed, accept):
    group, _, _ = listed
    headers = {"Accept": accept} if accept else {}
    response = api.get(f"/api/v1/groups/{group.id}/members", headers=headers)
    assert response.is_json and len(response.get_json()) == 6


def test_csv_needs_a_token_too(client, listed):
    group, meeting, _ = listed
    for url in (
        f"/api/v1/groups/{group.id}/members",
        f"/api/v1/meetings/{meeting.id}/registrations",
    ):
        response = client.get(url, headers=CSV)
        assert response.status_code == 401 and "ana" not in response.get_data(as_text=True)


def test_openapi_document_is_valid_and_documents_pagination_and_csv(client):
    spec = client.get("/api/openapi.json").get_json()
    schemathesis.openapi.from_dict(spec).validate()  # the OpenAPI 3 meta-schema
    for path in (
        "/api/v1/groups/{group_id}/members",
        "/api/v1/meetings/{meeting_id}/registrations",
    ):
        get = spec["paths"][path]["get"]
        assert {p["name"] for p in get["parameters"] if p["in"] == "query"} == {"page", "page_size"}
        ok = get["responses"]["200"]
        assert set(ok["content"]) == {"application/json", "text/csv"}
        assert "X-Pagination" in ok["headers"]
