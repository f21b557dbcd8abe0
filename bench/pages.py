"""The organiser's pages at 50 and at 5,000 members: ``python -m bench.pages [--postgres URL]``.

For each size, in one run and one table: every organiser page (group page, meeting page, the
door's manual list) and both CSV exports — bytes of the answer, server time (the median of
``--repeat`` requests through the Flask test client, after one to warm up) and SQL statements
(SQLAlchemy's and the driver-level ones, ``DriverStatement``); then "register everyone" for a
meeting nobody registered for yet, timed once (a place and a pass mail each).
Targets at 5,000: every page under 100 KB of HTML and 300 ms, the same statements as at 50;
register 5,000 in under 10 s. A missed target is printed and the exit status is 1.

SQLite: a new file in a temporary directory. PostgreSQL: ``--postgres`` names a server, where a
database of its own is made and dropped (``bench.checkin.make_database``).

The data: a group of N members as a real one looks after a few weeks, made with set-based
inserts (one executemany per table) so that 5,000 members take a second or two, not minutes.
Shared with ``tests/web/test_page_scale.py`` (5 and 60 members):

- N members (names with accents, companies), two thirds of them engaged (they took part), the
  rest as the organiser typed them; search keys folded as the app folds them;
- a meeting a week ago that half of them attended (so first-timers mean something today);
- today's meeting, started half an hour ago (check-in open), everyone registered, the last
  tenth on the waitlist, 60 % checked in by three ways, each with a sent pass mail;
- a meeting next week nobody registered for yet (for "register everyone").
"""

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, select

from eventtrack import create_app
from eventtrack.database import DriverStatement
from eventtrack.extensions import db
from eventtrack.models import (
    Group,
    Meeting,
    Membership,
    OutboxMessage,
    Registration,
    User,
)
from eventtrack.models.search import fold
from eventtrack.models.vocabularies import CheckinHow, MailStatus, RegistrationStatus, Role
from eventtrack.services.registrations import new_pass_token

FIRST = ["Özlem", "Ana", "José", "Łukasz", "Chloé", "Søren", "Mia", "Ravi", "Noor", "Ben"]
LAST = ["Yılmaz", "García", "Müller", "Nowak", "Dubois", "Hansen", "Rossi", "Patel", "Kim"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", ""]
HOWS = [CheckinHow.PASS_SCAN, CheckinHow.MANUAL, CheckinHow.KIOSK]


@dataclass
class ScaleGroup:
    group: Group
    last_week: Meeting
    today: Meeting
    next_week: Meeting
    size: int


def _meeting(group: Group, title: str, start: datetime, capacity: int | None) -> Meeting:
    m = Meeting(
        group_id=group.id,
        title=title,
        venue="Main hall",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        capacity=capacity,
        checkin_opens_at=start - timedelta(hours=1),
        checkin_closes_at=start + timedelta(hours=2),
    )
    db.session.add(m)
    return m


def build(organiser: User, size: int, now: datetime, tag: str) -> ScaleGroup:
    """The group of ``size`` members organised by ``organiser``; committed. ``tag`` keeps
    addresses of several groups in one database apart."""
    group = Group(name=f"Scale {tag}", default_timezone="Europe/Berlin")
    group.memberships.append(
        Membership(
            user=organiser,
            role=Role.ORGANISER,
            typed_name=organiser.name,
            engaged_at=now,
            search_key=fold(organiser.name, organiser.email),
        )
    )
    db.session.add(group)
    db.session.flush()
    going = size - size // 10
    last_week = _meeting(group, "Last week", now - timedelta(days=7), None)
    today = _meeting(group, "Tonight", now - timedelta(minutes=30), going)
    next_week = _meeting(group, "Next week", now + timedelta(days=7), None)
    db.session.flush()

    people = []
    for i in range(size):
        name = f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]} {i}"
        company = COMPANIES[i % len(COMPANIES)]
        people.append({"name": name, "email": f"m{i}@{tag}.scale.test", "company": company})
    db.session.execute(insert(User), people)
    ids = db.session.scalars(
        select(User.id).where(User.email.like(f"%@{tag}.scale.test")).order_by(User.id)
    ).all()
    db.session.execute(
        insert(Membership),
        [
            {
                "group_id": group.id,
                "user_id": uid,
                "role": Role.MEMBER,
                "joined_at": now - timedelta(days=30),
                "typed_name": p["name"],
                "engaged_at": now if i % 3 else None,
                "search_key": fold(p["name"], p["email"], p["company"] if i % 3 else ""),
            }
            for i, (uid, p) in enumerate(zip(ids, people, strict=True))
        ],
    )
    registrations = []
    for i, uid in enumerate(ids):
        if i % 2 == 0:
            registrations.append(_registration(last_week, uid, i, now - timedelta(days=7)))
        present = i < going and i % 5 < 3
        reg = _registration(today, uid, i, now - timedelta(minutes=20) if present else None)
        if i >= going:
            reg["status"] = RegistrationStatus.WAITLIST
        registrations.append(reg)
    for reg in registrations:
        reg["checked_in_by_id"] = organiser.id if reg["checked_in_at"] else None
    db.session.execute(insert(Registration), registrations)
    db.session.execute(
        insert(OutboxMessage),
        [
            {
                "kind": "pass",
                "dedup_key": f"pass:scale:{today.id}:{uid}",
                "recipient": p["email"],
                "recipient_name": p["name"],
                "user_id": uid,
                "meeting_id": today.id,
                "message_id": f"<scale.{today.id}.{uid}@eventtrack.test>",
                "subject": "Your pass: Tonight",
                "body_text": "Your pass.",
                "status": MailStatus.SENT,
                "attempts": 1,
                "next_attempt_at": now - timedelta(days=1),
                "created_at": now - timedelta(days=1),
                "sent_at": now - timedelta(days=1),
            }
            for uid, p in zip(ids, people, strict=True)
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of such a load: planner statistics. Without
        # them PostgreSQL plans for empty tables and a page at 5,000 takes seconds.
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return ScaleGroup(group, last_week, today, next_week, size)


def _registration(meeting: Meeting, user_id: int, i: int, checked_in_at) -> dict:
    return {
        "meeting_id": meeting.id,
        "user_id": user_id,
        "status": RegistrationStatus.GOING,
        "pass_token": new_pass_token(),
        "created_at": meeting.starts_at - timedelta(days=3),
        "status_changed_at": meeting.starts_at - timedelta(days=3),
        "checked_in_at": checked_in_at,
        "checkin_how": HOWS[i % len(HOWS)] if checked_in_at else None,
    }


# --- the measurements ------------------------------------------------------------------

SIZES = (50, 5000)
MAX_PAGE_BYTES, MAX_PAGE_MS, MAX_REGISTER_S = 100_000, 300, 10
PASSWORD = "bench-password"  # noqa: S105 - the throwaway organiser of a throwaway database


class Statements:
    """Every statement sent to the database while inside: SQLAlchemy's and the driver-level
    ones, which bypass SQLAlchemy's events (``DriverStatement.first`` wrapped meanwhile)."""

    def __enter__(self):
        self.count = 0
        self._first = DriverStatement.first
        counted = self

        def first(statement, params, on=None):
            counted.count += 1
            return counted._first(statement, params, on)

        DriverStatement.first = first
        event.listen(db.engine, "before_cursor_execute", self._on_execute)
        return self

    def _on_execute(self, *args):
        self.count += 1

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._on_execute)
        DriverStatement.first = self._first


@dataclass
class Row:
    what: str
    size: int
    bytes: int
    ms: float
    statements: int
    html: bool


def pages_of(app, sg: ScaleGroup) -> dict[str, tuple[str, bool]]:
    """What to measure: the organiser pages (HTML) and the CSV downloads, by name."""
    from flask import url_for

    with app.test_request_context():
        return {
            "group page": (url_for("organiser.group", group_id=sg.group.id), True),
            "meeting page": (url_for("organiser.meeting", meeting_id=sg.today.id), True),
            "door manual list": (url_for("door.manual", meeting_id=sg.today.id), True),
            "members CSV": (url_for("organiser.members_csv", group_id=sg.group.id), False),
            "registrations CSV": (
                url_for("organiser.registrations_csv", meeting_id=sg.today.id),
                False,
            ),
        }


def measure(client, url: str, repeat: int) -> tuple[int, float, int]:
    """(bytes, median ms, statements) of ``repeat`` GETs of ``url`` after one to warm up."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    times, counts = [], []
    for _ in range(repeat):
        db.session.expire_all()
        with Statements() as counted:
            t = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
        counts.append(counted.count)
    return len(response.get_data()), statistics.median(times), max(counts)


def register_everyone(client, app, sg: ScaleGroup) -> tuple[float, int]:
    """Seconds for the organiser's "register everyone" on the empty meeting, and how many
    places it made (the members and the organiser)."""
    from flask import url_for

    with app.test_request_context():
        url = url_for("organiser.register_everyone", meeting_id=sg.next_week.id)
    t = time.perf_counter()
    response = client.post(url)
    seconds = time.perf_counter() - t
    if response.status_code >= 400:
        raise SystemExit(f"POST {url} answered {response.status_code}")
    made = db.session.scalar(
        select(db.func.count()).where(Registration.meeting_id == sg.next_week.id)
    )
    return seconds, made


def run(database_url: str, instance: str, repeat: int) -> tuple[list[Row], dict[int, tuple]]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": instance,
            "MAIL_OUTBOX_DIR": str(Path(instance) / "mail"),
            "SECRET_KEY": "bench",
            "BASE_URL": "http://127.0.0.1:5000",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    rows, registered = [], {}
    with app.app_context():
        db.create_all()
        organiser = User(email="organiser@example.com", name="Bench Organiser")
        organiser.set_password(PASSWORD)
        db.session.add(organiser)
        db.session.commit()
        now = datetime.now(UTC).replace(microsecond=0)
        built = {}
        for size in SIZES:
            t = time.perf_counter()
            built[size] = build(organiser, size, now, f"g{size}")
            print(f"built {size:,} members in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        client = app.test_client()
        login = client.post("/login", data={"email": organiser.email, "password": PASSWORD})
        if login.status_code != 302:
            raise SystemExit(f"could not sign in: {login.status_code}")
        for size, sg in built.items():
            for what, (url, html) in pages_of(app, sg).items():
                rows.append(Row(what, size, *measure(client, url, repeat), html))
        for size, sg in built.items():
            registered[size] = register_everyone(client, app, sg)
    return rows, registered


def report(rows: list[Row], registered: dict[int, tuple]) -> list[str]:
    """Print the table; return the targets missed."""
    small, large = SIZES
    print(f"{'':20}" + "".join(f"{f'{n:,} members':>30}" for n in SIZES))
    print(f"{'page':20}" + f"{'KB':>10}{'ms':>10}{'SQL':>10}" * len(SIZES))
    missed = []
    by = {(r.what, r.size): r for r in rows}
    for what in dict.fromkeys(r.what for r in rows):
        line = f"{what:20}"
        for size in SIZES:
            r = by[what, size]
            line += f"{r.bytes / 1000:>10.1f}{r.ms:>10.1f}{r.statements:>10}"
        print(line)
        r, s = by[what, large], by[what, small]
        if r.html and r.bytes >= MAX_PAGE_BYTES:
            missed.append(f"{what}: {r.bytes / 1000:.0f} KB at {large:,}")
        if r.html and r.ms >= MAX_PAGE_MS:
            missed.append(f"{what}: {r.ms:.0f} ms at {large:,}")
        if r.statements != s.statements:
            missed.append(
                f"{what}: {s.statements} statements at {small}, {r.statements} at {large:,}"
            )
    for size, (seconds, made) in registered.items():
        print(f"register everyone at {size:,}: {made:,} places in {seconds:.2f} s")
        if size == large and (seconds >= MAX_REGISTER_S or made < size):
            missed.append(f"register everyone: {size:,} members in {seconds:.1f} s")
    print(
        f"targets at {large:,}: pages < {MAX_PAGE_BYTES // 1000} KB and < {MAX_PAGE_MS} ms, "
        f"the same SQL as at {small}; register everyone < {MAX_REGISTER_S} s (CSV: no size target)"
    )
    for line in missed:
        print(f"MISSED {line}")
    print("all targets met" if not missed else f"{len(missed)} target(s) missed")
    return missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="run against this PostgreSQL server")
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per page")
    args = parser.parse_args(argv)
    from bench.checkin import make_database

    with tempfile.TemporaryDirectory(prefix="eventtrack-pages-") as tmp:
        database_url, drop = make_database(args.postgres, Path(tmp))
        try:
            rows, registered = run(database_url, tmp, args.repeat)
        finally:
            drop()
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}")
    return 1 if report(rows, registered) else 0


if __name__ == "__main__":
    sys.exit(main())
