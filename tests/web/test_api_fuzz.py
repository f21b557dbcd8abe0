"""Fuzz every operation of the OpenAPI document in-process: whatever comes in, no 5xx.

Schemathesis builds requests from /api/openapi.json, both ones that fit the schema and ones
that do not. Each operation is tried twice: as generated, and with the ids in its path and
body replaced by those of a real group, meeting, member and pass (and a real timezone), so
that requests get past "not found" into the services. Bounded and derandomised: the same
requests on every run, in well under a minute.
"""

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from eventtrack.extensions import db
from tests import factories

EXAMPLES = 20  # per operation, mode and set of path ids

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its request
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def owned(make, now):
    """An organiser with a token, a group with members and a meeting open for check-in, with
    registrations (two checked in)."""
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=30), now=now)
    regs = [make.registration(meeting) for _ in range(3)]
    for reg in regs[:2]:
        reg.checked_in_at, reg.checkin_how = now, "manual"
    db.session.commit()
    token = factories.api_token(organiser, now)
    real = {
        "group_id": group.id,
        "meeting_id": meeting.id,
        "user_id": make.member(group).id,
        "a": regs[0].id,
        "b": regs[1].id,
        "token": regs[2].pass_token,
        "timezone": "Europe/Berlin",
    }
    return real, token


def _with_real_ids(case, ids: dict) -> None:
    if isinstance(case.body, dict):
        for name in case.body.keys() & ids.keys():
            case.body[name] = ids[name]


def test_no_operation_answers_5xx(app, owned):
    ids, token = owned
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    failures, tried = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        real_path = {name: value for name, value in ids.items() if name in names}
        for mode in GenerationMode:
            for real in (False, True):
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=real_path if real else None
                )

                @FUZZ
                @given(case=strategy)
                def no_5xx(case):
                    if real:
                        _with_real_ids(case, ids)
                    response = case.call(headers=auth)
                    assert response.status_code < 500, case.as_curl_command()

                try:
                    no_5xx()
                except Exception as exc:  # collect them all, then report
                    failures.append(f"{operation.label} ({mode}, real ids: {real}): {exc}")
                tried += 1
    assert tried >= 20
    assert not failures, "\n\n".join(failures)
