"""API v1: GET /api/v1/meetings/{id}/report and /api/v1/groups/{id}/report (issue #14), on the
hand-built scenario of ``tests/insights_scenario.py``: the exact figures, and who may ask."""

import pytest

from ..insights_scenario import build

MEETING, GROUP = "/api/v1/meetings/{}/report", "/api/v1/groups/{}/report"


@pytest.fixture
def s(app, now):
    return build(now)


@pytest.fixture
def get(client, make, s, now):
    token = make.api_token(s.organiser, now)

    def get(path, token=token):
        return client.get(path, headers={"Authorization": f"Bearer {token}"})

    return get


def test_meeting_report_figures(get, s):
    response = get(MEETING.format(s.m6.id))
    assert response.status_code == 200
    body = response.get_json()
    assert {k: v for k, v in body.items() if isinstance(v, int | float)} == {
        "meeting_id": s.m6.id,
        "registered": 9,
        "checked_in": 8,
        "no_shows": 2,
        "walk_ins": 1,
        "cancelled": 1,
        "waitlist": 1,
        "first_timers": 4,
        "returning": 4,
        "connections": 7,
        "connections_per_attendee_median": 1.5,
        "followups_sent": 2,
        "followups_failed": 1,
        "followups_pending": 1,
        "followups_done": 3,
        "goals_set": 3,
        "goals_done": 1,
    }
    assert body["met_nobody"] == [
        {"user_id": s.Nina.id, "name": "Nina", "first_timer": True},
        {"user_id": s.Adam.id, "name": "Adam", "first_timer": False},
    ]
    assert body["arrivals"] == [
        {"minute": -10, "count": 2},
        {"minute": 0, "count": 3},
        {"minute": 10, "count": 1},
        {"minute": 20, "count": 1},
        {"minute": 30, "count": 0},
        {"minute": 40, "count": 1},
    ]
    assert body["distribution"] == [
        {"connections": 0, "attendees": 2},
        {"connections": 1, "attendees": 2},
        {"connections": 2, "attendees": 1},
        {"connections": 3, "attendees": 2},
        {"connections": 4, "attendees": 1},
    ]


def test_meeting_report_says_nothing_private(get, s):
    text = get(MEETING.format(s.m6.id)).get_data(as_text=True)
    for secret in ("Ship the beta", "Find a mentor", "Coffee on Friday", "@insights.test"):
        assert secret not in text


def test_group_report_figures(get, s):
    response = get(GROUP.format(s.group.id))
    assert response.status_code == 200
    body = response.get_json()
    assert [
        (m["meeting_id"], m["title"], m["registered"], m["checked_in"], m["first_timers"])
        for m in body["meetings"]
    ] == [
        (m.id, m.title, *figures)
        for m, figures in zip(
            s.held,
            [(4, 4, 4), (4, 4, 0), (4, 4, 1), (2, 2, 0), (4, 4, 3), (9, 8, 4)],
            strict=True,
        )
    ]
    assert body["meetings"][0]["starts_at"] == s.held[0].starts_at.isoformat()
    assert body["drifting"] == [
        {
            "user_id": s.Dan.id,
            "name": "Dan",
            "attended": 3,
            "last_attended": s.held[2].starts_at.isoformat(),
        }
    ]
    assert (body["first_timers"], body["returning_first_timers"], body["pairs_met"]) == (12, 7, 9)
    assert body["met_someone_new_last_time"] == 0.625
    assert body["group_id"] == s.group.id


def test_group_report_before_any_meeting_says_null(get, make, s, now):
    group = make.group(s.organiser, name="New")
    make.meeting(group, now=now)
    body = get(GROUP.format(group.id)).get_json()
    assert body["meetings"] == [] and body["met_someone_new_last_time"] is None


@pytest.mark.parametrize("path", [MEETING, GROUP])
def test_another_organisers_meeting_or_group_is_404(get, make, s, now, path):
    other = make.organiser()
    token = make.api_token(other, now)
    target = s.m6.id if path == MEETING else s.group.id
    response = get(path.format(target), token=token)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    # The other organiser's own group answers; this group's organiser gets 404 for it.
    own = make.group(other, name="Theirs")
    meeting = make.meeting(own, now=now)
    own_id = meeting.id if path == MEETING else own.id
    assert get(path.format(own_id), token=token).status_code == 200
    assert get(path.format(own_id)).status_code == 404


@pytest.mark.parametrize("path", [MEETING, GROUP])
def test_a_members_token_is_404(get, make, s, now, path):
    token = make.api_token(s.Rita, now)  # a member of the group, at every meeting
    target = s.m6.id if path == MEETING else s.group.id
    response = get(path.format(target), token=token)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", [MEETING, GROUP])
def test_an_id_that_does_not_exist_is_404(get, path):
    response = get(path.format(999_999))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", [MEETING, GROUP])
@pytest.mark.parametrize("header", [None, "Bearer nope"])
def test_without_a_valid_token_is_401(client, s, path, header):
    headers = {"Authorization": header} if header else {}
    response = client.get(path.format(s.m6.id if path == MEETING else s.group.id), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_reports_are_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, schema in (
        ("/api/v1/meetings/{meeting_id}/report", "MeetingReportOut"),
        ("/api/v1/groups/{group_id}/report", "GroupReportOut"),
    ):
        get = spec["paths"][path]["get"]
        assert schema in get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert "404" in get["responses"]
    fields = spec["components"]["schemas"]["MeetingReportOut"]["properties"]
    assert {"met_nobody", "arrivals", "connections_per_attendee_median"} <= fields.keys()
