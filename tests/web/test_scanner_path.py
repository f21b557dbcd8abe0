"""The organiser's phone scanner and the API check a pass in by the same path: the one
statement in a driver transaction of its own (on SQLite in the writers' queue; on PostgreSQL
with its event row, in autocommit)."""

from datetime import timedelta

import pytest

from eventtrack.database import DriverTransaction
from eventtrack.extensions import db
from eventtrack.models import Registration
from eventtrack.services.checkin import door as door_path
from tests import factories


@pytest.fixture
def transactions(monkeypatch):
    """The mode, ``writes`` and ``autocommit`` of every driver transaction the check-in opens."""
    opened = []

    class Recording(DriverTransaction):
        def __init__(self, mode, writes=False, autocommit=False):
            super().__init__(mode, writes, autocommit)
            opened.append((mode, writes, autocommit))

    monkeypatch.setattr(door_path, "DriverTransaction", Recording)
    return opened


@pytest.fixture
def door(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=15), now=now)
    regs = [make.registration(meeting) for _ in range(2)]
    token = factories.api_token(organiser, now)
    db.session.commit()
    return organiser, meeting, regs, token


def test_the_scanner_page_and_the_api_take_the_same_path(door, client, auth, transactions):
    organiser, meeting, (scanned, posted), token = door

    auth.login_as(organiser)
    page = client.post(f"/door/m/{meeting.id}/scan", json={"code": scanned.pass_token})
    by_page = list(transactions)
    transactions.clear()
    api = client.post(
        "/api/v1/checkins",
        json={"token": posted.pass_token, "meeting_id": meeting.id},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert (page.status_code, api.status_code) == (201, 201)
    one_statement = db.engine.dialect.name == "postgresql"
    assert by_page == transactions == [(DriverTransaction.OWN, True, one_statement)]
    db.session.expire_all()
    assert all(db.session.get(Registration, r.id).checked_in_at for r in (scanned, posted))
