"""Check-in under load: ``python -m bench.checkin [--postgres URL]``.

Serves the app with gunicorn (2 workers) on a fresh database holding 20,000 passes, drives
``GET /healthz`` and ``POST /api/v1/checkins`` (every request a different pass) from loopback
with wrk at 50 connections, prints requests/s and p50/p99 latency, the ratio check-in/healthz,
and then checks in the database that every 2xx check-in is there exactly once.

The two are measured in alternating rounds of 2 s (healthz, check-in, healthz, …; as many
as the passes last) and the ratio is taken over the totals: on a shared machine the speed
drifts by a third between one minute and the next, and a ratio of two runs minutes apart
measured the drift as much as the app. The p99 is that of all the rounds' requests together.

SQLite: a new file in a temporary directory. PostgreSQL: ``--postgres`` names a server (any
database on it to connect to); the bench creates its own database there and drops it after.
"""

import argparse
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# What each round writes of its latencies beyond p50 and p99: its slowest 5 %, as the
# percentiles 95, 95.05, … 100 (wrk gives Lua percentiles, not its histogram), so that the
# rounds can be merged into one run's p99 (``merged_percentile``).
TAIL_FROM, TAIL_STEP, TAIL_POINTS = 95.0, 0.05, 101

LUA_COMMON = (
    f"""
local TAIL_FROM, TAIL_STEP, TAIL_POINTS = {TAIL_FROM}, {TAIL_STEP}, {TAIL_POINTS}
"""
    + r"""
local out_dir = os.getenv("BENCH_OUT")
function done(summary, latency, requests)
  local tail = {}
  for k = 0, TAIL_POINTS - 1 do
    tail[#tail + 1] = string.format("%d", latency:percentile(TAIL_FROM + k * TAIL_STEP))
  end
  local f = io.open(out_dir .. "/" .. os.getenv("BENCH_NAME") .. ".json", "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"non_2xx": %d, "tail_us": [%s]}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, table.concat(tail, ", ")))
  f:close()
end
"""
)

LUA_CHECKIN = r"""
local threads, next_id = {}, 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Answers are kept in memory and written once at the end: a write per answer would be a
-- system call per request, taken from the CPU the server is being measured on. For the same
-- reason every request this thread can send is made in init(), before the clock starts, as
-- wrk's documentation suggests: request() then only hands the next one out.
local requests, n = {}, 0
answers = {}
function init(args)
  local tokens = {}
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  local stride = tonumber(os.getenv("BENCH_THREADS"))
  offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
  local meeting = os.getenv("BENCH_MEETING")
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_API_TOKEN"),
  }
  function checkin(token, i)
    return wrk.format("POST", "/api/v1/checkins", headers,
      '{"token": "' .. token .. '", "meeting_id": ' .. meeting ..
      ', "nonce": "bench-nonce-' .. i .. '"}')
  end
  for i = offset + tid + 1, #tokens, stride do
    requests[#requests + 1] = checkin(tokens[i], i)
  end
end

function request()
  n = n + 1
  return requests[n] or checkin("passes-ran-out-" .. n, "out-" .. offset .. "-" .. tid .. "-" .. n)
end

function response(status, headers, body)
  answers[#answers + 1] = status .. " " .. (body:match('"registration_id":%s*(%d+)') or "-")
end

local write_summary = done
function done(summary, latency, requests)
  write_summary(summary, latency, requests)
  local name = os.getenv("BENCH_NAME")
  for _, thread in ipairs(threads) do
    local f = io.open(os.getenv("BENCH_OUT") .. "/answers-" .. name .. "-" ..
      thread:get("tid") .. ".txt", "w")
    for _, line in ipairs(thread:get("answers")) do f:write(line, "\n") end
    f:close()
  end
end
"""


SINGLE_SECONDS = 3  # the one-connection runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_database(url: str | None, tmp: Path) -> tuple[str, callable]:
    """Return a fresh database URL and a function that removes it."""
    if url is None:
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    import psycopg

    name = f"eventtrack_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)

    def drop():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def fill(database_url: str, instance: Path, passes: int, tokens_file: Path) -> tuple[int, str]:
    """Create the schema, an organiser with an API token, a meeting open for check-in and
    ``passes`` registrations (bulk inserts). Return (meeting id, API token)."""
    from sqlalchemy import insert

    from eventtrack import create_app
    from eventtrack.extensions import db
    from eventtrack.models import Group, Meeting, Membership, Registration, User, utcnow
    from eventtrack.services import accounts
    from eventtrack.services.registrations import new_pass_token

    app = create_app(
        {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench"}
    )
    with app.app_context():
        db.create_all()
        now = utcnow()
        organiser = User(email="organiser@bench.test", name="Bench Organiser")
        organiser.set_password("bench-password")
        group = Group(name="Bench group")
        group.memberships.append(Membership(user=organiser, role="organiser"))
        meeting = Meeting(
            group=group,
            title="Bench meetup",
            starts_at=now + timedelta(minutes=10),
            ends_at=now + timedelta(hours=3),
            checkin_opens_at=now - timedelta(hours=1),
            checkin_closes_at=now + timedelta(hours=3),
        )
        db.session.add_all([organiser, group, meeting])
        db.session.commit()
        api_token = accounts.new_api_token(organiser, now)
        chunk = 5000
        tokens = []
        for start in range(0, passes, chunk):
            rows = [
                {"email": f"p{i}@bench.test", "name": f"Person {i}", "created_at": now}
                for i in range(start, min(start + chunk, passes))
            ]
            ids = db.session.scalars(insert(User).returning(User.id), rows).all()
            db.session.execute(
                insert(Membership),
                [{"group_id": group.id, "user_id": uid, "role": "member"} for uid in ids],
            )
            batch = [new_pass_token() for _ in ids]
            db.session.execute(
                insert(Registration),
                [
                    {
                        "meeting_id": meeting.id,
                        "user_id": uid,
                        "pass_token": token,
                        "status": "going",
                        "created_at": now,
                        "status_changed_at": now,
                    }
                    for uid, token in zip(ids, batch, strict=True)
                ],
            )
            tokens += batch
        db.session.commit()
        meeting_id = meeting.id
        db.engine.dispose()
    tokens_file.write_text("\n".join(tokens) + "\n")
    return meeting_id, api_token


def serve(database_url: str, port: int, workers: int = 2, wait: float = 30) -> subprocess.Popen:
    """gunicorn with ``workers`` sync workers on ``port``, once it answers ``/healthz`` (within
    ``wait`` seconds; else it is stopped, workers and all)."""
    env = dict(
        os.environ,
        EVENTTRACK_DATABASE_URL=database_url,
        EVENTTRACK_SECRET_KEY="bench",
        EVENTTRACK_BASE_URL=f"http://127.0.0.1:{port}",
    )
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            f"--workers={workers}",
            "--worker-tmp-dir=/dev/shm",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "eventtrack:create_app()",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit(f"gunicorn did not answer /healthz within {wait:.0f} s")


def wrk(
    name: str, url: str, script: Path, seconds: int, env: dict, threads: int, connections=50
) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=10s",
            f"--script={script}",
            url,
        ],
        env=dict(os.environ, BENCH_NAME=name, BENCH_THREADS=str(threads), **env),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = json.loads((Path(env["BENCH_OUT"]) / f"{name}.json").read_text())
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    # The load tool runs on the same two cores as the server: what it takes, they lack.
    stats["wrk_cpu_us"] = round(
        (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e6
    )
    return stats


def errors(stats: dict) -> int:
    keys = ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx")
    return sum(stats[k] for k in keys)


def merged_percentile(runs: list[dict], p: float) -> int:
    """The ``p`` percentile (95 or more) of all the requests of ``runs`` together, from each
    run's slowest 5 % (``tail_us``): the least latency that at most ``100 - p`` % of them
    exceed. It never understates: a run's share above a latency counts 0.05 % for each of
    its percentiles above it, and all of the run below its own 95th percentile, of which the
    run wrote nothing."""
    total = sum(r["requests"] for r in runs)
    allowed = total * (100 - p) / 100

    def share_slower(run: dict, x: int) -> float:
        tail = run["tail_us"]
        return 1.0 if x < tail[0] else TAIL_STEP / 100 * sum(q > x for q in tail)

    for x in sorted({q for r in runs for q in r["tail_us"]}):
        if sum(r["requests"] * share_slower(r, x) for r in runs) <= allowed:
            return x
    raise AssertionError("the slowest request of a run is above none of its percentiles")


def combine(runs: list[dict]) -> dict:
    """Rounds of one endpoint as one: requests/s and p99 over all their requests, the median
    round's p50, and the fastest and slowest round's p99."""
    total = {k: sum(r[k] for r in runs) for k in runs[0] if k not in ("rps", "tail_us")}
    total["rps"] = total["requests"] / (total["duration_us"] / 1e6)
    total["p50_us"] = sorted(r["p50_us"] for r in runs)[len(runs) // 2]
    total["p99_us"] = merged_percentile(runs, 99)
    total["p99_rounds_us"] = (min(r["p99_us"] for r in runs), max(r["p99_us"] for r in runs))
    total["max_us"] = max(r["max_us"] for r in runs)
    return total


def verify(database_url: str, out: Path, meeting_id: int, rounds: int) -> tuple[bool, list[str]]:
    """Every 2xx answer of the run is one checked-in registration with one check-in event."""
    from sqlalchemy import create_engine, text

    url = database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    answers = [
        line.split()
        for f in sorted(out.glob("answers-*.txt"))
        for line in f.read_text().splitlines()
        if line
    ]
    by_status = {}
    for status, _ in answers:
        by_status[status] = by_status.get(status, 0) + 1
    created = [int(reg_id) for status, reg_id in answers if status == "201"]
    engine = create_engine(url)
    with engine.connect() as conn:
        checked = set(
            conn.scalars(
                text(
                    "SELECT id FROM registrations WHERE meeting_id = :m "
                    "AND checked_in_at IS NOT NULL"
                ),
                {"m": meeting_id},
            )
        )
        doubles = conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT registration_id FROM checkin_events "
                "WHERE status = 'checked_in' GROUP BY registration_id HAVING count(*) > 1) d"
            )
        )
        events = conn.scalar(text("SELECT count(*) FROM checkin_events WHERE status='checked_in'"))
    engine.dispose()
    problems = []
    if len(created) != len(set(created)):
        problems.append(f"{len(created) - len(set(created))} registrations answered 201 twice")
    missing, unanswered = set(created) - checked, checked - set(created)
    if missing:
        problems.append(f"{len(missing)} passes answered 201 are not checked in")
    # wrk stops on the clock: requests still in flight then were served but never read, at
    # most one per connection in each timed run (50 a round, 1 in the one-connection run).
    if len(unanswered) > 50 * rounds + 1:
        problems.append(f"{len(unanswered)} check-ins nobody was answered for (> 50 a round + 1)")
    if doubles or events != len(checked):
        problems.append(f"{doubles} passes with several check-in events; {events} events")
    other = {k: v for k, v in by_status.items() if k != "201"}
    if other:
        problems.append(f"answers other than 201 (a pass used twice, or errors): {other}")
    lines = [
        f"answers: {by_status}",
        f"checked-in rows: {len(checked)} ({len(unanswered)} in flight when wrk stopped); "
        f"check-in events: {events}; passes with two check-ins: {doubles}",
    ]
    return not problems, lines + problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="run against this PostgreSQL server")
    parser.add_argument("--passes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--seconds", type=int, default=2, help="per load run (default 2)")
    parser.add_argument("--wrk-threads", type=int, default=1)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make system-deps installs it)")

    tmp = Path(tempfile.mkdtemp(prefix="eventtrack-bench-"))
    database_url, drop = make_database(args.postgres, tmp)
    server, log_mb = None, None
    try:
        instance, out = tmp / "instance", tmp / "out"
        instance.mkdir()
        out.mkdir()
        started = time.monotonic()
        meeting_id, api_token = fill(database_url, instance, args.passes, tmp / "tokens.txt")
        print(f"{args.passes} passes ready in {time.monotonic() - started:.1f} s", flush=True)
        port = free_port()
        server = serve(database_url, port)
        base = f"http://127.0.0.1:{port}"
        (tmp / "healthz.lua").write_text(LUA_COMMON)
        (tmp / "checkin.lua").write_text(LUA_COMMON + LUA_CHECKIN)
        env = {
            "BENCH_OUT": str(out),
            "BENCH_TOKENS": str(tmp / "tokens.txt"),
            "BENCH_API_TOKEN": api_token,
            "BENCH_MEETING": str(meeting_id),
        }
        wrk("warmup", f"{base}/healthz", tmp / "healthz.lua", 2, env, args.wrk_threads)
        health_runs, checkin_runs, used = [], [], 0
        for n in range(args.rounds):
            # Another round, and then the one-connection run, must not run out of passes: it
            # lasts SINGLE_SECONDS and can take a pass as fast as a round does (seen: 1,150/s).
            per_round = used / n if n else 0
            reserve = per_round * (1.5 + SINGLE_SECONDS / args.seconds)
            if checkin_runs and args.passes - used < reserve:
                print(f"passes for {n} rounds only (--passes to make more)", flush=True)
                break
            health_runs.append(
                wrk(f"healthz{n}", f"{base}/healthz", tmp / "healthz.lua", args.seconds, env, 1)
            )
            # Each round takes fresh passes: the last one's, and the ones in flight when wrk
            # stopped (at most one a connection), are used.
            env["BENCH_OFFSET"] = str(used)
            run = wrk(
                f"checkins{n}", base, tmp / "checkin.lua", args.seconds, env, args.wrk_threads
            )
            checkin_runs.append(run)
            used += run["requests"] + 50
        # Then one connection: the time a single scan takes, without 49 others queued ahead.
        env["BENCH_OFFSET"] = str(used)
        single = wrk("single", base, tmp / "checkin.lua", SINGLE_SECONDS, env, 1, connections=1)
        used += single["requests"] + 1
        health1 = wrk(
            "healthz1",
            f"{base}/healthz",
            tmp / "healthz.lua",
            SINGLE_SECONDS,
            env,
            1,
            connections=1,
        )
        # The log file keeps its largest size (SQLite writes it again from the start rather
        # than shrink it), and the last connection to close deletes it: read it while serving.
        log = tmp / "bench.sqlite3-wal"
        log_mb = log.stat().st_size / 2**20 if log.exists() else None
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)

    database = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    health, checkins = combine(health_runs), combine(checkin_runs)
    print(
        f"\n{database}, gunicorn 2 sync workers, wrk 50 connections, "
        f"{len(checkin_runs)} alternating rounds of {args.seconds} s each"
    )
    print(f"{'':28}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>10}")
    rows = (
        ("GET /healthz", health),
        ("POST /api/v1/checkins", checkins),
        ("  the same, 1 connection", single),
        ("GET /healthz, 1 connection", health1),
    )
    for label, stats in rows:
        print(
            f"{label:28}{stats['rps']:12.0f}{stats['p50_us'] / 1000:10.1f}"
            f"{stats['p99_us'] / 1000:10.1f}{errors(stats):10d}"
        )
    for label, stats in (("healthz", health), ("check-in", checkins)):
        print(
            f"wrk's own CPU per {label} request: {stats['wrk_cpu_us'] / stats['requests']:.0f} us"
        )
    print("(p50: the median round's; p99: of all the requests of the rounds together)")
    for n, (h, c) in enumerate(zip(health_runs, checkin_runs, strict=True), 1):
        print(
            f"  round {n}: healthz {h['rps']:.0f}/s, check-in {c['rps']:.0f}/s "
            f"(p99 {c['p99_us'] / 1000:.1f} ms), ratio {c['rps'] / h['rps']:.2f}"
        )
    ratio = checkins["rps"] / health["rps"]
    rounds = sorted(c["rps"] / h["rps"] for h, c in zip(health_runs, checkin_runs, strict=True))
    # The targets (README, Performance): SQLite's are the door's on one box; PostgreSQL's is
    # the ratio alone (its commit waits for a flush of the log that SQLite in WAL does not).
    ratio_target, p99_target = (">= 0.5", "none") if args.postgres else (">= 0.6", "< 50 ms at 50")
    print(
        f"ratio check-in/healthz: {ratio:.2f}  (target {ratio_target}; "
        f"rounds {rounds[0]:.2f}-{rounds[-1]:.2f})"
    )
    fastest, slowest = (us / 1000 for us in checkins["p99_rounds_us"])
    print(
        f"check-in p99: {checkins['p99_us'] / 1000:.1f} ms over all {checkins['requests']} "
        f"requests at 50 connections (rounds {fastest:.1f}-{slowest:.1f}), "
        f"{single['p99_us'] / 1000:.1f} ms at 1  (target {p99_target})"
    )
    if log_mb is not None:
        print(f"write-ahead log at its largest: {log_mb:.1f} MB")
    if used > args.passes:
        print(f"WARNING: {used} passes needed, {args.passes} made")
    ok, lines = verify(database_url, out, meeting_id, len(checkin_runs))
    print("\n".join(lines))
    print("database check:", "every 2xx check-in is there exactly once" if ok else "FAILED")
    drop()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
