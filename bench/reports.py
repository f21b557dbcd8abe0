"""The meeting report and the networking picture at 50 and at 5,000 attendees:
``python -m bench.reports [--postgres URL]``.

One run builds two meetings side by side, each in a group of its own: 50 attendees with 1,000
connections, and 5,000 attendees with 100,000 connections (20 per person; 2 % of them met
nobody, half of them first-timers, 2 % walk-ins, check-ins spread over an hour), with
set-based inserts (one executemany per table). Then, for each size, the median of ``--repeat``
runs (after one to warm up) of:

- the organiser's report page, ``GET /organise/meetings/<id>/report``, and the picture,
  ``GET /organise/meetings/<id>/network.svg``, through the Flask test client: server time,
  bytes, SQL statements (``bench.pages.Statements``: driver-level ones counted too). Up to
  ``reports.INLINE_MAX`` people the page holds the picture itself; above, it links the SVG;
- the services alone: ``insights.meeting_report``, ``insights.meeting_network`` and
  ``picture.network_svg`` (drawing only).

Targets: at 5,000 the page and the picture each under 300 ms of server time, and the time
ratio between the two sizes no worse than linear (the sizes differ 100-fold, in people and in
connections). A missed target is printed and the exit status is 1.

SQLite: a new file in a temporary directory. PostgreSQL: ``--postgres`` names a server, where a
database of its own is made and dropped (``bench.checkin.make_database``).
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.models import Connection, Group, Meeting, Membership, Registration, User
from eventtrack.models.vocabularies import CheckinHow, ConnectionHow, RegistrationStatus, Role
from eventtrack.services import insights
from eventtrack.services.insights import picture
from eventtrack.services.registrations import new_pass_token

from .pages import PASSWORD, Statements

SIZES = (50, 5000)
PER_PERSON = 20  # connections per attendee: 100,000 at 5,000
MAX_MS = 300


def _meeting(group: Group, title: str, start: datetime) -> Meeting:
    m = Meeting(
        group_id=group.id,
        title=title,
        venue="Main hall",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        checkin_opens_at=start - timedelta(hours=1),
        checkin_closes_at=start + timedelta(hours=2),
    )
    db.session.add(m)
    return m


def build(organiser: User, size: int, now: datetime) -> Meeting:
    """A group of ``size`` members, last month's meeting (every other one came) and tonight's,
    which everyone attended, with ``PER_PERSON * size`` connections; committed."""
    rng = random.Random(size)
    group = Group(name=f"Reports {size}", default_timezone="Europe/Berlin")
    group.memberships.append(Membership(user=organiser, role=Role.ORGANISER, typed_name="Bench"))
    db.session.add(group)
    db.session.flush()
    earlier = _meeting(group, "Last month", now - timedelta(days=30))
    tonight = _meeting(group, "Tonight", now - timedelta(hours=3))
    db.session.flush()
    tag = f"r{size}.bench.test"
    db.session.execute(
        insert(User),
        [{"name": f"Attendee {i} of {size}", "email": f"a{i}@{tag}"} for i in range(size)],
    )
    ids = db.session.scalars(
        select(User.id).where(User.email.like(f"%@{tag}")).order_by(User.id)
    ).all()
    db.session.execute(
        insert(Membership),
        [
            {"group_id": group.id, "user_id": uid, "role": Role.MEMBER, "typed_name": f"A{uid}"}
            for uid in ids
        ],
    )
    rows = []
    for i, uid in enumerate(ids):
        if i % 2:
            rows.append(_registration(earlier, uid, 5, CheckinHow.MANUAL))
        how = CheckinHow.WALK_IN if i % 50 == 7 else CheckinHow.PASS_SCAN
        rows.append(_registration(tonight, uid, rng.randint(-20, 59), how))
    db.session.execute(insert(Registration), rows)
    mingling = [uid for i, uid in enumerate(ids) if i % 50 != 3]  # 2 % met nobody
    pairs: set[tuple[int, int]] = set()
    possible = len(mingling) * (len(mingling) - 1) // 2  # a small group meets everyone
    while len(pairs) < min(PER_PERSON * size, possible):
        a, b = rng.sample(mingling, 2)
        pairs.add((min(a, b), max(a, b)))
    at = tonight.starts_at + timedelta(minutes=40)
    db.session.execute(
        insert(Connection),
        [
            {
                "meeting_id": tonight.id,
                "user_a_id": a,
                "user_b_id": b,
                "how": ConnectionHow.SCAN,
                "created_at": at,
            }
            for a, b in sorted(pairs)
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # what autovacuum does within a minute
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return tonight


def _registration(meeting: Meeting, user_id: int, minute: int, how: str) -> dict:
    return {
        "meeting_id": meeting.id,
        "user_id": user_id,
        "status": RegistrationStatus.GOING,
        "pass_token": new_pass_token(),
        "created_at": meeting.starts_at - timedelta(days=3),
        "status_changed_at": meeting.starts_at - timedelta(days=3),
        "checked_in_at": meeting.starts_at + timedelta(minutes=minute),
        "checkin_how": how,
    }


@dataclass
class Timing:
    ms: float  # median server (wall) time
    cpu_ms: float  # median CPU time of this process: what a busy machine's neighbours hide
    runs: list[float]
    bytes: int = 0
    statements: int = 0


def timed(call, repeat: int) -> Timing:
    """The median of ``repeat`` calls after one to warm up, each on a fresh session state."""
    call()
    runs, cpu, counts, size = [], [], [], 0
    for _ in range(repeat):
        db.session.expire_all()
        with Statements() as counted:
            t, c = time.perf_counter(), time.process_time()
            result = call()
            runs.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        counts.append(counted.count)
        size = len(result) if isinstance(result, bytes | str) else 0
    return Timing(statistics.median(runs), statistics.median(cpu), runs, size, max(counts))


def page(client, url: str):
    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        return response.get_data()

    return get


def run(database_url: str, instance: str, repeat: int) -> dict[int, dict[str, Timing]]:
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
    results: dict[int, dict[str, Timing]] = {}
    with app.app_context():
        db.create_all()
        organiser = User(email="organiser@example.com", name="Bench Organiser")
        organiser.set_password(PASSWORD)
        db.session.add(organiser)
        db.session.commit()
        now = datetime.now(UTC).replace(microsecond=0)
        meetings = {}
        for size in SIZES:
            t = time.perf_counter()
            meetings[size] = build(organiser, size, now)
            print(
                f"built {size:,} attendees, {PER_PERSON * size:,} connections "
                f"in {time.perf_counter() - t:.1f} s",
                file=sys.stderr,
            )
        client = app.test_client()
        login = client.post("/login", data={"email": organiser.email, "password": PASSWORD})
        if login.status_code != 302:
            raise SystemExit(f"could not sign in: {login.status_code}")
        for size, meeting in meetings.items():
            mid = meeting.id
            network = insights.meeting_network(meeting)
            results[size] = {
                "report page": timed(page(client, f"/organise/meetings/{mid}/report"), repeat),
                "picture (network.svg)": timed(
                    page(client, f"/organise/meetings/{mid}/network.svg"), repeat
                ),
                "service: meeting_report": timed(
                    lambda m=meeting: insights.meeting_report(m), repeat
                ),
                "service: meeting_network": timed(
                    lambda m=meeting: insights.meeting_network(m), repeat
                ),
                "drawing: network_svg": timed(
                    lambda n=network: picture.network_svg(n, names=True), repeat
                ),
            }
    return results


def report(results: dict[int, dict[str, Timing]]) -> list[str]:
    """Print the table and the ratios; return the targets missed."""
    small, large = SIZES
    factor = large / small
    print(f"{'':26}" + "".join(f"{f'{n:,} attendees':>32}" for n in SIZES) + f"{'ratio':>10}")
    print(
        f"{'':26}"
        + f"{'KB':>8}{'ms':>8}{'cpu ms':>8}{'SQL':>8}" * len(SIZES)
        + f"{f'(×{factor:.0f})':>10}"
    )
    missed = []
    for what in results[small]:
        line = f"{what:26}"
        for size in SIZES:
            t = results[size][what]
            kb = f"{t.bytes / 1000:.1f}" if t.bytes else "—"
            line += f"{kb:>8}{t.ms:>8.1f}{t.cpu_ms:>8.1f}{t.statements:>8}"
        ratio = results[large][what].ms / results[small][what].ms
        print(f"{line}{ratio:>10.1f}")
        timing = results[large][what]
        served = not what.startswith(("service", "drawing"))  # the targets are server times
        if served and timing.ms >= MAX_MS:
            missed.append(f"{what}: {timing.ms:.0f} ms at {large:,}")
        if served and ratio > factor:
            missed.append(f"{what}: {ratio:.0f}× the time for {factor:.0f}× the size")
        # The page holds the picture up to INLINE_MAX people (two statements more at 50).
        same = results[large][what].statements == results[small][what].statements
        if not same and what != "report page":
            missed.append(f"{what}: not the same statements at both sizes")
    for what in ("report page", "picture (network.svg)"):
        runs = ", ".join(f"{ms:.0f}" for ms in sorted(results[large][what].runs))
        print(f"{what} at {large:,}, every run (ms): {runs}")
    print(
        f"targets at {large:,}: the page and the picture < {MAX_MS} ms each; time ratio "
        f"≤ the size ratio ({factor:.0f}); the same statements at both sizes (the page at 50 "
        "holds the picture: its statements too)"
    )
    for line in missed:
        print(f"MISSED {line}")
    print("all targets met" if not missed else f"{len(missed)} target(s) missed")
    return missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="run against this PostgreSQL server")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each")
    args = parser.parse_args(argv)
    from bench.checkin import make_database

    with tempfile.TemporaryDirectory(prefix="eventtrack-reports-") as tmp:
        database_url, drop = make_database(args.postgres, Path(tmp))
        try:
            results = run(database_url, tmp, args.repeat)
        finally:
            drop()
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}")
    return 1 if report(results) else 0


if __name__ == "__main__":
    sys.exit(main())
