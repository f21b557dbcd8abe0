"""Bearer tokens: a worker trusts a token it found for API_TOKEN_CACHE_SECONDS, never longer,
and a token or user deleted in the database stops working within that time."""

from datetime import timedelta

import pytest
from sqlalchemy import delete

from eventtrack.extensions import db
from eventtrack.models import ApiToken, Group, User
from eventtrack.services import accounts
from eventtrack.services.errors import UnknownActor
from eventtrack.web.api.auth import RecentTokens
from tests import factories


class Clock:
    def __init__(self):
        self.at = 1000.0

    def __call__(self):
        return self.at


@pytest.fixture
def clock(app):
    """The app's token memo, on a clock the test moves (5 s, as by default)."""
    clock = Clock()
    app.extensions["eventtrack_api_tokens"] = RecentTokens(5, clock=clock)
    return clock


@pytest.fixture
def lookups(monkeypatch):
    """Every database look-up of a token, in order."""
    seen = []
    real = accounts.user_id_for_api_token

    def counted(token, now):
        seen.append(token)
        return real(token, now)

    monkeypatch.setattr(accounts, "user_id_for_api_token", counted)
    return seen


@pytest.fixture
def organiser(make, now):
    user = make.organiser()
    user.token = factories.api_token(user, now)
    user.group_id = make.group(user).id
    return user


def get_members(client, user, token=None):
    return client.get(
        f"/api/v1/groups/{user.group_id}/members",
        headers={"Authorization": f"Bearer {token or user.token}"},
    )


def delete_tokens_of(user_id):
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    db.session.commit()


def test_a_found_token_is_looked_up_again_only_when_its_time_is_up(
    client, clock, lookups, organiser
):
    for _ in range(3):
        assert get_members(client, organiser).status_code == 200
    assert len(lookups) == 1

    clock.at += 5
    assert get_members(client, organiser).status_code == 200
    assert len(lookups) == 2


def test_a_deleted_token_stops_working_within_the_time(client, clock, organiser):
    assert get_members(client, organiser).status_code == 200
    delete_tokens_of(organiser.id)

    clock.at += 4.9
    assert get_members(client, organiser).status_code == 200
    clock.at += 0.1
    response = get_members(client, organiser)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_with_no_time_every_request_looks_the_token_up(app, client, lookups, organiser):
    app.extensions["eventtrack_api_tokens"] = RecentTokens(0)
    assert get_members(client, organiser).status_code == 200
    delete_tokens_of(organiser.id)

    assert get_members(client, organiser).status_code == 401
    assert len(lookups) == 2


def test_an_unknown_token_is_not_remembered(client, clock, lookups, organiser):
    for _ in range(2):
        assert get_members(client, organiser, "et_not-a-token").status_code == 401
    assert len(lookups) == 2


def test_the_default_time_is_five_seconds(app):
    assert app.extensions["eventtrack_api_tokens"].seconds == 5


def test_a_full_memo_starts_over_and_still_answers(app, make, now):
    tokens = RecentTokens(5, size=2)
    users = [make.organiser() for _ in range(3)]
    minted = [factories.api_token(user, now) for user in users]

    found = [tokens.user_id(token, now) for token in minted]

    assert found == [user.id for user in users]
    assert len(tokens._found) == 1  # the third started it over


@pytest.mark.parametrize("meeting", ["given", "none"])
def test_a_user_deleted_since_the_token_was_found_gets_401_not_an_error(
    client, clock, make, now, organiser, meeting
):
    group = db.session.get(Group, organiser.group_id)
    event = make.meeting(group, starts_in=timedelta(minutes=15), now=now)
    reg = make.registration(event, make.member(group))
    headers = {"Authorization": f"Bearer {organiser.token}"}
    assert get_members(client, organiser).status_code == 200  # the worker has found it
    organiser_id = organiser.id
    db.session.execute(delete(User).where(User.id == organiser_id))
    db.session.commit()

    body = {"token": reg.pass_token}
    if meeting == "given":
        body["meeting_id"] = event.id
    scan = client.post("/api/v1/checkins", json=body, headers=headers)
    listing = get_members(client, organiser)

    assert (scan.status_code, listing.status_code) == (401, 401)
    assert scan.get_json()["error"]["code"] == "unauthorized"
    db.session.expire_all()
    assert db.session.get(type(reg), reg.id).checked_in_at is None


def test_check_in_by_a_user_who_no_longer_exists_is_refused(app, make, now):
    from eventtrack.services import checkin

    with pytest.raises(UnknownActor):
        checkin.check_in(None, "x" * 24, 999_999, now)


def test_a_deleted_users_id_is_never_given_to_a_new_user(client, clock, make, organiser):
    # What a worker remembers of a token (and a session cookie) is a user id: on SQLite a
    # table without AUTOINCREMENT hands the largest id out again once it is deleted.
    assert get_members(client, organiser).status_code == 200
    gone = organiser.id
    db.session.execute(delete(User).where(User.id == gone))
    db.session.commit()

    newcomer = make.user()

    assert newcomer.id != gone
    assert get_members(client, organiser).status_code == 401
