"""Benchmark: queue and deliver follow-ups for a 2,000-attendee meeting.

    python -m bench.followups [--attendees 2000] [--per-person 20] [--postgres URL]

A fresh SQLite database in a temp dir (or, with ``--postgres``, a database of its own made and
dropped on that server, ``bench.checkin.make_database``); a meeting with N checked-in
attendees who each met ~20 others; time to queue every follow-up email, then time to deliver
them to a local aiosmtpd sink on 127.0.0.1 — beside a raw smtplib loop sending the same number
of messages of the same sizes to the same sink. Targets: queue < 10 s; delivery >= 0.5 x the
raw smtplib rate.
"""

import argparse
import multiprocessing
import random
import re
import smtplib
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from bench.checkin import make_database
from eventtrack import create_app, worker
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
from eventtrack.services import followup_mail, outbox
from eventtrack.transaction import atomic

WORDS = re.findall(
    r"\w+",
    "design hiring fintech climate saas marketing sales funding investors mentoring data "
    "analytics security cloud mobile ecommerce logistics health education energy retail legal "
    "accounting product strategy branding growth partnerships recruiting engineering devops ai "
    "robotics biotech realestate media gaming travel food fashion sustainability payments "
    "insurance crypto manufacturing consulting coaching leadership ux research writing video",
)
TIME_LIMIT = 600  # seconds: the whole run stops rather than run away


class Sink:
    def __init__(self, count):
        self.count = count

    async def handle_DATA(self, server, session, envelope):
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def run_sink(port: int, count, stop) -> None:
    """The SMTP sink, in a process of its own: in a thread of the benchmark it would compete
    for the GIL with whichever sender is being measured, and favour the lighter one."""
    controller = Controller(Sink(count), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait(TIME_LIMIT)
    controller.stop()


def wait_for_port(port: int, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the SMTP sink did not start on port {port}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def words(rng, k=3):
    return ", ".join(rng.sample(WORDS, k))


def build(n: int, per_person: int, now: datetime, rng: random.Random) -> Meeting:
    group = Group(name="Bench circle", default_timezone="Europe/Berlin")
    db.session.add(group)
    db.session.flush()
    start = now - timedelta(hours=5)
    meeting = Meeting(
        group_id=group.id,
        title="Bench meetup",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        checkin_opens_at=start - timedelta(hours=1),
        checkin_closes_at=start + timedelta(hours=2),
    )
    db.session.add(meeting)
    db.session.flush()
    db.session.execute(
        insert(User),
        [
            dict(
                email=f"member{i}@bench.example",
                name=f"Member {i} Surname",
                headline="Founder at a small company",
                company=f"Company {i % 300}",
                interests=words(rng),
                asks=words(rng),
                offers=words(rng),
                linkedin_url=f"https://www.linkedin.com/in/member{i}",
                phone=f"+49 30 {i:07d}",
                share_contact=i % 3 != 0,
                followup_emails=True,
                created_at=now,
            )
            for i in range(n)
        ],
    )
    ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    db.session.execute(
        insert(Membership),
        [dict(group_id=group.id, user_id=u, role="member", joined_at=now) for u in ids],
    )
    db.session.execute(
        insert(Registration),
        [
            dict(
                meeting_id=meeting.id,
                user_id=u,
                status="going",
                pass_token=f"bench{u:08d}",
                created_at=now,
                status_changed_at=now,
                checked_in_at=start + timedelta(minutes=10),
                checkin_how="manual",
            )
            for u in ids
        ],
    )
    half = per_person // 2  # each links to the next `half`: everyone ends up with `per_person`
    pairs = {
        tuple(sorted((ids[i], ids[(i + k) % n]))) for i in range(n) for k in range(1, half + 1)
    }
    db.session.execute(
        insert(Connection),
        [
            dict(
                meeting_id=meeting.id,
                user_a_id=a,
                user_b_id=b,
                how="scan",
                created_at=start + timedelta(minutes=30),
                note_a=f"talked about {rng.choice(WORDS)}",
                note_b="",
            )
            for a, b in sorted(pairs)
        ],
    )
    db.session.commit()
    return meeting


def raw_smtplib(port: int, sender: str, messages: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as smtp:
        for recipient, data in messages:
            smtp.sendmail(sender, [recipient], data)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=2000)
    parser.add_argument("--per-person", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL", help="run against this PostgreSQL server")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + TIME_LIMIT
    rng = random.Random(5)
    now = datetime.now(UTC).replace(microsecond=0)

    with tempfile.TemporaryDirectory(prefix="eventtrack-bench-") as tmp:
        database_url, drop = make_database(args.postgres, Path(tmp))
        try:
            return run(args, database_url, tmp, now, rng, deadline)
        finally:
            drop()


def run(args, database_url: str, tmp: str, now: datetime, rng, deadline: float) -> int:
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}")
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": tmp,
            "SECRET_KEY": "bench",
            "BASE_URL": "http://127.0.0.1:5000",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        t = time.perf_counter()
        meeting = build(args.attendees, args.per_person, now, rng)
        print(
            f"setup: {args.attendees} attendees, "
            f"{db.session.query(Connection).count()} connections "
            f"({time.perf_counter() - t:.1f} s)"
        )

        t = time.perf_counter()
        with atomic():
            queued = followup_mail.queue_followups(meeting, now)
        queue_s = time.perf_counter() - t
        print(f"queue:    {queued} follow-up emails in {queue_s:.2f} s")

        mp = multiprocessing.get_context("spawn")
        count, stop = mp.Value("i", 0), mp.Event()
        port = free_port()
        sink = mp.Process(target=run_sink, args=(port, count, stop), daemon=True)
        sink.start()
        wait_for_port(port)
        try:
            transport = outbox.SmtpTransport("127.0.0.1", port)
            t = time.perf_counter()
            summary = worker.deliver_pending(transport, now, limit=queued)
            deliver_s = time.perf_counter() - t
            if time.monotonic() > deadline:
                print("time limit reached", file=sys.stderr)
                return 2
            sender = app.config["MAIL_FROM"]
            rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            same = [(r.recipient, outbox.build_message(r, sender)) for r in rows]
            before = count.value
            raw_s = raw_smtplib(port, sender, same)
            assert count.value - before == len(same) == summary.sent
        finally:
            stop.set()
            sink.join(10)

    size = sum(len(m) for _, m in same) / max(len(same), 1)
    ours, raw = summary.sent / deliver_s, len(same) / raw_s
    ratio = ours / raw
    print(
        f"deliver:  {summary.sent} sent ({summary.retrying} retrying, {summary.failed} failed) "
        f"in {deliver_s:.2f} s = {ours:.0f} msg/s (avg {size / 1024:.1f} KiB)"
    )
    print(f"raw:      {len(same)} smtplib sendmail in {raw_s:.2f} s = {raw:.0f} msg/s")
    print(f"ratio:    delivery / raw = {ratio:.2f}")
    ok_queue, ok_ratio = queue_s < 10, ratio >= 0.5
    print(
        f"targets:  queue < 10 s {'OK' if ok_queue else 'MISSED'}; "
        f"delivery >= 0.5 x raw {'OK' if ok_ratio else 'MISSED'}"
    )
    return 0 if ok_queue and ok_ratio and summary.sent == queued else 1


if __name__ == "__main__":
    sys.exit(main())
