from datetime import timedelta

import pytest

from eventtrack.services import accounts
from eventtrack.transaction import atomic

from ..followup_scenarios import attend, meet, past_meeting


@pytest.fixture
def api(client, make, now):
    organiser = make.organiser()
    with atomic():
        token = accounts.new_api_token(organiser, now)
    group = make.group(organiser)

    def post(meeting_id, token=token):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.post(f"/api/v1/meetings/{meeting_id}/followups", headers=headers)

    post.group = group
    return post


def test_queue_answers_how_many_and_is_idempotent(api, now):
    meeting = past_meeting(api.group, now, ago=timedelta(hours=2, minutes=30))  # in its delay
    a, b = attend(meeting), attend(meeting)
    attend(meeting, followup_emails=False)
    meet(meeting, a, b)

    first = api(meeting.id)
    assert first.status_code == 200
    assert first.json["queued"] == 2 and first.json["meeting_id"] == meeting.id
    assert first.json["followups_queued_at"] is not None
    second = api(meeting.id)
    assert second.json["queued"] == 0
    assert second.json["followups_queued_at"] == first.json["followups_queued_at"]


def test_meeting_not_over_is_a_json_409(api, now, make):
    meeting = make.meeting(api.group, starts_in=timedelta(days=1), now=now)
    response = api(meeting.id)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "not_over"


@pytest.mark.parametrize("token", [None, "et_wrong"])
def test_needs_a_valid_token(api, now, token):
    meeting = past_meeting(api.group, now)
    response = api(meeting.id, token=token)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_another_organisers_meeting_is_404(api, now, make):
    other = past_meeting(make.group(make.organiser()), now)
    attend(other)
    response = api(other.id)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_documented_in_openapi(client):
    spec = client.get("/api/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/meetings/{meeting_id}/followups"]
