"""One transaction boundary: services change and flush, the request (or the CLI command, or
the worker) commits once, and an operation that fails half-way leaves nothing behind."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage, Registration, User
from eventtrack.services import accounts, checkin, kiosk, registrations
from eventtrack.services.errors import Invalid
from eventtrack.transaction import atomic

SERVICES = Path(__file__).parent.parent / "eventtrack" / "services"


def _counted_elsewhere(model) -> int:
    """Rows of ``model`` as another connection sees them: only what was committed."""
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ten(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, now=now)
    people = [make.member(group) for _ in range(10)]
    return organiser, group, meeting, people


def test_registering_ten_with_the_tenth_invalid_keeps_nothing(ten, make, now):
    organiser, group, meeting, people = ten
    people[-1] = make.user()  # not a member of the group: refused, after nine went in

    with pytest.raises(Invalid), atomic():
        registrations.register_many(meeting, people, now)

    assert _counted_elsewhere(Registration) == 0
    assert _counted_elsewhere(OutboxMessage) == 0  # no pass mail for the nine either


def test_registering_ten_through_the_page_is_all_or_nothing(
    ten, client, auth, monkeypatch, make, now
):
    organiser, group, meeting, people = ten
    real_register, calls = registrations.register, []

    def tenth_fails(meeting, user, now, **kwargs):
        calls.append(user.id)
        if len(calls) == 10:
            raise Invalid("The tenth could not be registered.")
        return real_register(meeting, user, now, **kwargs)

    monkeypatch.setattr(registrations, "register", tenth_fails)
    auth.login_as(organiser)
    page = client.post(
        f"/organise/meetings/{meeting.id}/registrations",
        data={"user_ids": [p.id for p in people]},
        follow_redirects=True,
    )

    assert len(calls) == 10
    assert "Nobody was registered: The tenth could not be registered." in page.text
    assert _counted_elsewhere(Registration) == 0
    assert _counted_elsewhere(OutboxMessage) == 0


def test_registering_ten_through_the_page_commits_them_with_their_passes(ten, client, auth):
    organiser, group, meeting, people = ten
    auth.login_as(organiser)
    page = client.post(
        f"/organise/meetings/{meeting.id}/registrations",
        data={"user_ids": [p.id for p in people]},
        follow_redirects=True,
    )

    assert "Registered 10." in page.text
    assert _counted_elsewhere(Registration) == 10
    assert _counted_elsewhere(OutboxMessage) == 10


def test_the_kiosks_check_in_and_its_sign_in_mail_are_one_transaction(make, now, monkeypatch):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), now=now)
    grant = kiosk.verify(kiosk.kiosk_code(meeting, now), now)

    def mail_fails(*args, **kwargs):
        raise RuntimeError("the outbox insert failed")

    monkeypatch.setattr(accounts, "request_login_link", mail_fails)
    with pytest.raises(RuntimeError):
        checkin.self_check_in_by_email(meeting, "Ana", "ana@example.com", now, grant.how)

    assert _counted_elsewhere(Registration) == 0  # no check-in without its mail
    assert db.session.scalar(select(User).where(User.email == "ana@example.com")) is None

    monkeypatch.undo()
    result = checkin.self_check_in_by_email(meeting, "Ana", "ana@example.com", now, grant.how)
    assert result.status == "checked_in"
    assert _counted_elsewhere(Registration) == 1 and _counted_elsewhere(OutboxMessage) == 1


def test_a_request_that_leaves_a_change_uncommitted_fails_under_test(app, make):
    user = make.user()

    @app.post("/_test/forgets-to-commit")
    def forgets_to_commit():
        db.session.get(User, user.id).name = "Changed"
        db.session.flush()
        return "done"

    with pytest.raises(RuntimeError, match="changes nobody committed"):
        app.test_client().post("/_test/forgets-to-commit")
    db.session.expire_all()
    assert db.session.get(User, user.id).name != "Changed"


# Two transactions of their own, on purpose: a check-in attempt (a repeated nonce rolls back
# the whole attempt, DESIGN.md: its commit and rollbacks, the fast path giving back its write
# lock, a walk-in that fails before its attempt), and the API token's touch of last_used_at
# (``accounts.user_id_for_api_token``: authentication, committed whatever the action does).
OWN_TRANSACTIONS = {
    "accounts.py": 1,
    "checkin/attempt.py": 3,
    "checkin/door.py": 1,
    "checkin/walk_ins.py": 1,
}


def test_services_never_commit_or_roll_back():
    found = {}
    for path in SERVICES.rglob("*.py"):
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("commit", "rollback")
        ]
        if calls:
            found[str(path.relative_to(SERVICES))] = len(calls)
    assert found == OWN_TRANSACTIONS
