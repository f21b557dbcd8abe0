"""Bad input gets a clear 4xx, never a 500, and loses nothing (issue #11)."""

import io
import json
import re

import pytest
from flask import url_for
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Group, Meeting, Membership, User
from eventtrack.web.auth.routes import safe_next
from tests import factories

HUGE_IDS = [str(2**31), str(2**63), "99999999999999999999", "9" * 5000]


@pytest.fixture
def organiser(make, auth):
    user = make.organiser(email="organiser@example.com")
    auth.login()
    return user


@pytest.fixture
def api(client, make, now):
    """A client for the API as an organiser with a bearer token, and that organiser's group."""
    user = make.organiser()
    token = factories.api_token(user, now)
    headers = {"Authorization": f"Bearer {token}"}

    class Api:
        organiser = user
        group = make.group(user)

        def get(self, path, **kw):
            return client.get(path, headers=headers, **kw)

        def post(self, path, **kw):
            return client.post(path, headers=headers, **kw)

    return Api()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def error_of(response) -> dict:
    return response.get_json()["error"]


MEETING = {
    "title": "Pricing night",
    "starts_at": "2027-03-09T18:30:00+01:00",
    "ends_at": "2027-03-09T21:00:00+01:00",
    "timezone": "Europe/Berlin",
}


# Ids beyond what an id column holds


@pytest.mark.parametrize("big", HUGE_IDS)
@pytest.mark.parametrize(
    "path", ["/organise/groups/{}", "/organise/meetings/{}/edit", "/door/m/{}", "/f/{}"]
)
def test_ids_beyond_an_id_column_are_404_on_pages(client, organiser, path, big):
    response = client.get(path.format(big))
    assert response.status_code == 404
    assert b"Page not found" in response.data


@pytest.mark.parametrize("big", HUGE_IDS)
def test_ids_beyond_an_id_column_are_404_in_the_api(api, big):
    for response in (
        api.get(f"/api/v1/meetings/{big}"),
        api.get(f"/api/v1/groups/{big}/members"),
        api.post(f"/api/v1/meetings/{big}/registrations", json={"user_id": 1}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_the_largest_id_a_column_holds_is_just_not_found(client, organiser, api):
    assert client.get(f"/organise/groups/{2**31 - 1}").status_code == 404
    assert api.get(f"/api/v1/meetings/{2**31 - 1}").status_code == 404


def test_openapi_document_states_the_id_bounds(client):
    spec = client.get("/api/openapi.json").get_json()
    [param] = spec["paths"]["/api/v1/meetings/{meeting_id}"]["parameters"]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


@pytest.mark.parametrize("big", [2**31, 2**63, 10**20, -(2**31) - 1, 1e300])
def test_numbers_in_json_beyond_any_column_are_422_naming_the_field(api, make, big):
    meeting = make.meeting(api.group)
    response = api.post(f"/api/v1/meetings/{meeting.id}/registrations", json={"user_id": big})
    assert response.status_code == 422
    assert "user_id" in error_of(response)["fields"]
    response = api.post("/api/v1/checkins", json={"token": "x" * 24, "meeting_id": big})
    assert response.status_code == 422
    assert "meeting_id" in error_of(response)["fields"]
    response = api.post("/api/v1/meetings", json={**MEETING, "group_id": big})
    assert response.status_code == 422
    assert "group_id" in error_of(response)["fields"]
    assert count(Meeting) == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_ids_that_cannot_exist_are_422_naming_the_field(api, make, bad):
    meeting = make.meeting(api.group)
    response = api.post(f"/api/v1/meetings/{meeting.id}/registrations", json={"user_id": bad})
    assert response.status_code == 422
    assert error_of(response)["fields"]["user_id"] == [
        f"Must be greater than or equal to 1 and less than or equal to {2**31 - 1}."
    ]


# Text no column can store


@pytest.mark.parametrize("path", ["/p/abc%00def", "/in/abc%00", "/login/link/x%00y"])
def test_nul_in_a_path_is_400_even_signed_out(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert b"NUL" in response.data


def test_nul_in_an_api_path_or_query_is_400_json(api):
    for response in (
        api.get("/api/v1/meetings/1%00"),
        api.get("/api/v1/meetings/1?x=a%00b"),
        api.get("/api/v1/meetings/1?a%00=b"),
    ):
        assert response.status_code in (400, 404)
        assert response.is_json
    response = api.get("/api/v1/meetings/1?q=a%00b")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
    assert "NUL" in error_of(response)["fields"]["q"][0]


def test_nul_in_a_form_field_is_400_and_nothing_is_stored(client, organiser):
    response = client.post(
        "/organise/groups/new",
        data={"name": "Circle\x00", "description": "", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 400
    assert b"NUL" in response.data
    assert count(Group) == 0


def test_nul_in_a_member_form_is_400_and_nothing_is_stored(client, make, organiser):
    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "Ada\x00", "email": "ada@example.com"},
    )
    assert response.status_code == 400
    assert count(Membership) == 1


@pytest.mark.parametrize(
    "content",
    [
        b"name,email\nAda\x00L,ada@example.com\n",
        "name,email\nAda,ada@example.com\n".encode("utf-16"),
    ],
)
def test_an_upload_with_nul_bytes_is_400_and_nothing_is_imported(client, make, organiser, content):
    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/members/import",
        data={"file": (io.BytesIO(content), "people.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert b"UTF-8" in response.data
    assert count(Membership) == 1


def test_an_upload_of_plain_text_still_imports(client, make, organiser):
    group = make.group(organiser)
    client.post(
        f"/organise/groups/{group.id}/members/import",
        data={"file": (io.BytesIO(b"name,email\nAda,ada@example.com\n"), "people.csv")},
        content_type="multipart/form-data",
    )
    assert count(Membership) == 2


def test_nul_in_json_is_400_naming_the_field(api):
    response = api.post("/api/v1/groups", json={"name": "Circle\x00"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_request"
    assert "name" in error["message"] and "NUL" in error["fields"]["name"][0]
    assert count(Group) == 1


def test_nul_in_a_json_key_is_400(api):
    response = api.post("/api/v1/groups", json={"name": "C", "x\x00": 1})
    assert response.status_code == 400
    assert count(Group) == 1


def test_nul_in_a_check_in_token_is_400(api):
    response = api.post("/api/v1/checkins", json={"token": "abc\x00def"})
    assert response.status_code == 400
    assert "token" in error_of(response)["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"name": "\\ud800"}', "name"),
        ('{"name": "a\\udfffb"}', "name"),
        ('{"x": ["\\ud83d"]}', "x.0"),
    ],
)
def test_lone_surrogates_in_json_are_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/groups", data=body, content_type="application/json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert count(Group) == 1


def test_a_surrogate_pair_is_a_character_like_any_other(api):
    response = api.post(
        "/api/v1/groups", data='{"name": "Circle \\ud83d\\ude00"}', content_type="application/json"
    )
    assert response.status_code == 201
    assert response.get_json()["name"] == "Circle \U0001f600"


@pytest.mark.parametrize("body", ["{not json", '{"name": NaN}', '{"name": "G", "x": Infinity}'])
def test_json_that_is_not_json_is_a_json_4xx(api, body):
    response = api.post("/api/v1/groups", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert "error" in response.get_json()
    assert count(Group) == 1


@pytest.mark.parametrize("path", ["/api/v1/groups", "/api/v1/checkins"])
def test_deeply_nested_json_is_400_not_a_recursion_error(api, path):
    body = "[" * 50_000 + "]" * 50_000
    response = api.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_json_nested_past_any_input_is_400(api):
    body = {"name": "C"}
    nested = body
    for _ in range(40):
        nested["x"] = {}
        nested = nested["x"]
    response = api.post("/api/v1/groups", json=body)
    assert response.status_code == 400
    assert "Nested" in json.dumps(error_of(response))
    assert count(Group) == 1


def test_deeply_nested_json_to_a_page_is_400(client):
    body = "[" * 50_000 + "]" * 50_000
    response = client.post("/door/m/1/scan", data=body, content_type="application/json")
    assert response.status_code == 400


# Too large


@pytest.fixture
def small_bodies(app):
    """A 100 kB body limit: over it without building megabytes (nor the temporary files the
    test client then spools multipart bodies to)."""
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    return 100_000


def test_a_form_over_the_size_limit_gets_the_413_page(client, make, organiser, small_bodies):
    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "x" * small_bodies, "email": "a@example.com"},
    )
    assert response.status_code == 413
    assert b"That file is too large" in response.data
    assert count(Membership) == 1


def test_an_upload_over_the_size_limit_gets_the_413_page(client, make, organiser, small_bodies):
    group = make.group(organiser)
    big = b"name,email\n" + b"x" * small_bodies
    response = client.post(
        f"/organise/groups/{group.id}/members/import",
        data={"file": (io.BytesIO(big), "people.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert b"That file is too large" in response.data
    assert count(Membership) == 1


def test_a_json_body_over_the_size_limit_is_413_json(api, small_bodies):
    response = api.post("/api/v1/groups", json={"name": "x" * small_bodies})
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"
    assert count(Group) == 1


# One length limit per field, the same in forms and the API, never a silent cut


def test_a_long_member_name_is_refused_by_the_form_naming_120(client, make, organiser):
    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "x" * 5000, "email": "ada@example.com"},
        follow_redirects=True,
    )
    assert re.search(rb"\b120\b", response.data)
    assert count(Membership) == 1
    assert count(User) == 1


def test_a_long_member_name_is_refused_by_the_api_naming_120(api):
    response = api.post(
        f"/api/v1/groups/{api.group.id}/members", json={"name": "x" * 5000, "email": "a@b.example"}
    )
    assert response.status_code == 422
    [message] = error_of(response)["fields"]["name"]
    assert re.search(r"\b120\b", message)
    assert count(Membership) == 1
    assert count(User) == 1


def test_a_long_meeting_description_is_refused_by_form_and_api_naming_8000(
    client, make, organiser, api
):
    description = "x" * 1_500_000
    response = api.post(
        "/api/v1/meetings", json={**MEETING, "group_id": api.group.id, "description": description}
    )
    assert response.status_code == 422
    [message] = error_of(response)["fields"]["description"]
    assert re.search(r"\b8,?000\b", message)

    group = make.group(organiser)
    response = client.post(
        f"/organise/groups/{group.id}/meetings/new",
        data={
            "title": "Pricing night",
            "description": "x" * 8001,
            "date": "2027-03-09",
            "start_time": "18:30",
            "end_time": "21:00",
            "timezone": "Europe/Berlin",
            "checkin_opens_minutes": "60",
            "checkin_closes_minutes": "0",
            "followup_delay_minutes": "120",
            "recurrence": "none",
        },
    )
    assert response.status_code == 200
    assert re.search(rb"\b8,?000\b", response.data)
    assert count(Meeting) == 0


def test_a_description_at_the_limit_is_kept_whole(api):
    description = "y" * 8000
    response = api.post(
        "/api/v1/meetings", json={**MEETING, "group_id": api.group.id, "description": description}
    )
    assert response.status_code == 201
    assert db.session.scalar(select(Meeting.description)) == description


@pytest.mark.parametrize("field, limit", [("title", 160), ("venue", 200), ("timezone", 64)])
def test_long_meeting_fields_are_422_naming_the_limit(api, field, limit):
    response = api.post(
        "/api/v1/meetings", json={**MEETING, "group_id": api.group.id, field: "x" * (limit + 1)}
    )
    assert response.status_code == 422
    assert str(limit) in error_of(response)["fields"][field][0]
    assert count(Meeting) == 0


def test_capacity_beyond_the_column_is_422_not_an_overflow(api):
    response = api.post(
        "/api/v1/meetings", json={**MEETING, "group_id": api.group.id, "capacity": 2**31 - 1}
    )
    assert response.status_code == 422
    assert "capacity" in error_of(response)["fields"]


def test_registrations_in_the_api_carry_no_pass(api, make):
    meeting = make.meeting(api.group)
    member = make.member(api.group)
    reg = make.registration(meeting, member)
    created = api.post(f"/api/v1/meetings/{meeting.id}/registrations", json={"user_id": member.id})
    listing = api.get(f"/api/v1/meetings/{meeting.id}/registrations")
    for body in (created.get_json(), *listing.get_json()["registrations"]):
        assert "pass_token" not in body and "pass_url" not in body
        assert reg.pass_token not in json.dumps(body)
    spec = api.get("/api/openapi.json").get_json()
    assert "pass_token" not in spec["components"]["schemas"]["RegistrationOut"]["properties"]


# Redirects


@pytest.mark.parametrize(
    "target", ["/organise\r\nSet-Cookie: a=b", "/a\nb", "/\t/evil.example", "/a\x01b", "/a\x7fb"]
)
def test_control_characters_never_reach_a_redirect(app, target):
    with app.test_request_context():
        assert safe_next(target) == url_for("organiser.home")


def test_sign_in_with_a_next_holding_a_line_break_redirects_home(client, make):
    make.organiser(email="organiser@example.com")
    response = client.post(
        "/login?next=x",
        data={
            "email": "organiser@example.com",
            "password": "correct horse battery",
            "next": "/organise\r\nSet-Cookie: a=b",
        },
    )
    assert response.status_code == 302
    assert "\n" not in response.headers["Location"]
    assert "Set-Cookie" not in response.headers["Location"]


# The routine's forms: too long is refused naming the limit, nothing saved, what was typed kept


def test_editing_a_group_refuses_a_name_too_long_naming_120(client, make, organiser):
    group = make.group(organiser, name="Product Circle")
    response = client.post(
        f"/organise/groups/{group.id}/edit",
        data={"name": "x" * 121, "description": "Kept words", "timezone": "Europe/London"},
    )
    assert response.status_code == 422
    assert re.search(rb"\b120\b", response.data) and b"Kept words" in response.data
    db.session.expire_all()
    assert db.session.get(Group, group.id).name == "Product Circle"


def test_editing_a_member_refuses_a_name_too_long_naming_120(client, make, organiser):
    group = make.group(organiser)
    bob = make.member(group, name="Bob")
    db.session.commit()
    response = client.post(
        f"/organise/groups/{group.id}/members/{bob.id}",
        data={"name": "x" * 121, "company": "Kept Co"},
    )
    assert response.status_code == 422
    assert re.search(rb"\b120\b", response.data) and b'value="Kept Co"' in response.data
    db.session.expire_all()
    membership = db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == bob.id)
    )
    assert "x" * 121 not in (membership.typed_name, membership.typed_company)
    assert membership.typed_company != "Kept Co"


def test_a_message_with_a_subject_too_long_is_refused_naming_200(client, make, organiser, now):
    from eventtrack.models import OutboxMessage
    from eventtrack.services import registrations

    group = make.group(organiser)
    meeting = make.meeting(group, now=now)
    registrations.register(meeting, make.member(group), now)
    db.session.commit()
    response = client.post(
        f"/organise/meetings/{meeting.id}/message",
        data={"audience": "registered", "subject": "s" * 201, "body": "Kept text"},
    )
    assert response.status_code == 422
    assert re.search(rb"\b200\b", response.data) and b"Kept text" in response.data
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == ["pass"]  # the registration's pass; no message


def test_an_invitation_refuses_an_email_too_long_and_sends_nothing(client, make, now):
    from eventtrack.models import LoginLink, OutboxMessage

    meeting = make.meeting(make.group(), now=now)
    db.session.commit()
    email = "a" * 250 + "@example.com"
    response = client.post(f"/i/{meeting.invite_token}", data={"email": email})
    assert response.status_code == 422
    assert re.search(rb"\b254\b", response.data) and email.encode() in response.data
    assert (count(OutboxMessage), count(LoginLink)) == (0, 0)
