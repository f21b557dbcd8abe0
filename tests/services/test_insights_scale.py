"""Insights at scale: each report runs the same number of SQL statements for a group of SMALL
and of LARGE people (driver-level statements included), so no figure is fetched per attendee,
per meeting or per connection."""

from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from eventtrack.database import DriverStatement
from eventtrack.extensions import db
from eventtrack.models import (
    Connection,
    Group,
    Meeting,
    Membership,
    OutboxMessage,
    Registration,
    User,
)
from eventtrack.models.followup import FollowUp, Goal
from eventtrack.services import insights
from eventtrack.services.registrations import new_pass_token

SMALL, LARGE = 5, 60
MEETINGS = 6
EXPECTED = {"meeting_report": 4, "meeting_network": 2, "group_report": 4, "member_record": 2}


class Statements:
    """Every statement sent to the database: SQLAlchemy's (``before_cursor_execute``) and the
    driver-level ones that bypass its events (``DriverStatement.first``)."""

    def __init__(self, monkeypatch):
        self.sql: list[str] = []
        original = DriverStatement.first

        def counted_first(statement, params, on=None):
            self.sql.append("driver: " + (statement.sql or "compiled"))
            return original(statement, params, on)

        monkeypatch.setattr(DriverStatement, "first", counted_first)

    def _on_execute(self, conn, cursor, statement, *args):
        self.sql.append(statement)

    def __enter__(self):
        self.sql = []
        event.listen(db.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._on_execute)


def _build(organiser, size: int, now, tag: str) -> tuple[int, int, int]:
    """A group of ``size`` members and MEETINGS weekly meetings; everyone comes to some of
    them (a third stop coming: drifting), meets their neighbours, follows up, sets goals.
    Returns (group id, the last meeting's id, the id of a member who came to every one)."""
    group = Group(name=f"Scale {tag}")
    db.session.add(group)
    db.session.flush()
    db.session.add(Membership(group_id=group.id, user_id=organiser.id, role="organiser"))
    meetings = []
    for i in range(MEETINGS):
        start = now - timedelta(days=7 * (MEETINGS - i))
        meetings.append(
            Meeting(
                group_id=group.id,
                title=f"M{i}",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                checkin_opens_at=start - timedelta(hours=1),
                checkin_closes_at=start + timedelta(hours=2),
            )
        )
    db.session.add_all(meetings)
    db.session.flush()
    db.session.execute(
        insert(User), [{"name": f"P{i}", "email": f"p{i}@{tag}.test"} for i in range(size)]
    )
    ids = [u.id for u in db.session.query(User).filter(User.email.like(f"%@{tag}.test"))]
    ids.sort()
    db.session.execute(
        insert(Membership),
        [{"group_id": group.id, "user_id": uid, "role": "member"} for uid in ids],
    )
    regs, conns, followups, goals, mails = [], [], [], [], []
    for m_index, m in enumerate(meetings):
        here = [
            uid
            for i, uid in enumerate(ids)
            if i == 0 or (i % 3 == 0 and m_index < 3) or (i % 3 and (i + m_index) % 2)
        ]
        for i, uid in enumerate(ids):
            present = uid in here
            regs.append(
                {
                    "meeting_id": m.id,
                    "user_id": uid,
                    "status": ("going", "waitlist", "cancelled")[i % 7 % 3],
                    "pass_token": new_pass_token(),
                    "checked_in_at": m.starts_at + timedelta(minutes=i % 50) if present else None,
                    "checkin_how": ("walk_in" if i % 4 == 1 else "pass_scan") if present else None,
                }
            )
        for k, a in enumerate(here):
            for b in here[k + 1 : k + 4]:
                conns.append({"meeting_id": m.id, "user_a_id": a, "user_b_id": b, "how": "scan"})
                followups.append(
                    {
                        "meeting_id": m.id,
                        "owner_id": a,
                        "other_id": b,
                        "state": "done" if b % 2 else "todo",
                        "done_at": m.ends_at if b % 2 else None,
                        "promise": "call" if b % 3 else "",
                    }
                )
            goals.append(
                {
                    "meeting_id": m.id,
                    "user_id": a,
                    "text": "a goal",
                    "outcome": "done" if a % 2 else None,
                    "answered_at": m.ends_at if a % 2 else None,
                }
            )
            mails.append(
                {
                    "kind": "followup",
                    "dedup_key": f"followup:{m.id}:{a}",
                    "recipient": f"{a}@{tag}.test",
                    "user_id": a,
                    "meeting_id": m.id,
                    "message_id": f"<{m.id}.{a}@{tag}.test>",
                    "subject": "Follow-ups",
                    "body_text": "…",
                    "status": ("sent", "failed", "pending")[a % 3],
                }
            )
    for table, rows in (
        (Registration, regs),
        (Connection, conns),
        (FollowUp, followups),
        (Goal, goals),
        (OutboxMessage, mails),
    ):
        db.session.execute(insert(table), rows)
    db.session.commit()
    return group.id, meetings[-1].id, ids[0]


@pytest.fixture
def built(app, make, now):
    organiser = make.organiser()
    return {size: _build(organiser, size, now, f"s{size}") for size in (SMALL, LARGE)}


def _calls(built, size, now):
    group_id, meeting_id, user_id = built[size]
    db.session.expire_all()
    group, meeting = db.session.get(Group, group_id), db.session.get(Meeting, meeting_id)
    user = db.session.get(User, user_id)
    return {
        "meeting_report": lambda: insights.meeting_report(meeting),
        "meeting_network": lambda: insights.meeting_network(meeting),
        "group_report": lambda: insights.group_report(group, now),
        "member_record": lambda: insights.member_record(user, now),
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_report_takes_the_same_statements_at_any_size(built, now, monkeypatch, name):
    counted, results = {}, {}
    for size in (SMALL, LARGE):
        call = _calls(built, size, now)[name]
        with Statements(monkeypatch) as statements:
            results[size] = call()
        counted[size] = statements.sql
    assert len(counted[LARGE]) == len(counted[SMALL]) == EXPECTED[name], counted[LARGE]
    assert results[SMALL] != results[LARGE]  # the sizes differ in what they report


def test_the_larger_fixture_reports_what_it_holds(built, now):
    calls = _calls(built, LARGE, now)
    report, network = calls["meeting_report"](), calls["meeting_network"]()
    assert report.checked_in == len(network.people) > SMALL
    assert report.connections == len(network.pairs) > 0
    assert sum(n for _, n in report.distribution) == report.checked_in
    group = calls["group_report"]()
    assert len(group.meetings) == MEETINGS and group.drifting
    record = calls["member_record"]()
    assert len(record.meetings) == MEETINGS and record.people_met > 0
