"""Two app servers against one PostgreSQL database, beside one: ``python -m bench.cluster
--postgres URL``.

One gunicorn server with 2 sync workers (as ``bench.checkin`` serves it), and two servers with
1 worker each on two other loopback ports: the same number of workers, so that what differs is
only that they are two servers (two masters, two connection pools, two listen queues) sharing
one database, a fresh one on that server with 16,000 passes. In alternating rounds of 2 s
(drift on a shared machine cancels out, as in ``bench.checkin``): ``POST /api/v1/checkins``
through the one server, then through the two at once (two wrk processes of 25 connections
each both times, so that only the servers differ), then ``GET /healthz`` through the one as
the yardstick. It prints requests/s and latency of each, the ratio two/one, and checks in the
database that every 2xx check-in is there exactly once.

On a 2-core machine the two servers run on the same two cores as the one, the database and
wrk: the figure is the cost of coordination, not a speed-up. A second box brings cores of its
own.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.checkin import (
    LUA_CHECKIN,
    LUA_COMMON,
    combine,
    errors,
    fill,
    free_port,
    merged_percentile,
    serve,
    verify,
)

CONNECTIONS = 50
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def make_database(url: str) -> tuple[str, callable]:
    """A fresh database on the server of ``url``, named after its database; and its drop."""
    import psycopg

    base = urlsplit(url).path.lstrip("/") or "postgres"
    name = f"{base}_cluster_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(urlsplit(url)._replace(path=f"/{name}")), drop


def load(
    runs: list[tuple[str, str, int, dict]], tmp: Path, seconds: int, out: Path
) -> tuple[dict, list[int]]:
    """wrk runs started together, each ``(name, url, connections, env)``; their totals as one
    run (requests/s summed: they run side by side for the same time), and each one's requests."""
    procs = []
    for name, url, connections, env in runs:
        script = tmp / ("checkin.lua" if "BENCH_TOKENS" in env else "healthz.lua")
        procs.append(
            subprocess.Popen(
                [
                    "wrk",
                    "--threads=1",
                    f"--connections={connections}",
                    f"--duration={seconds}s",
                    "--timeout=10s",
                    f"--script={script}",
                    url,
                ],
                env=dict(os.environ, BENCH_NAME=name, BENCH_THREADS="1", BENCH_OUT=str(out), **env),
                stdout=subprocess.DEVNULL,
            )
        )
    for proc in procs:
        if proc.wait(seconds + 60) != 0:
            raise SystemExit(f"wrk exited with {proc.returncode}")
    stats = [json.loads((out / f"{name}.json").read_text()) for name, *_ in runs]
    for s in stats:
        s["rps"] = s["requests"] / (s["duration_us"] / 1e6)
    total = {k: sum(s[k] for s in stats) for k in stats[0] if k not in ("rps", "tail_us")}
    total["duration_us"] = max(s["duration_us"] for s in stats)
    total["rps"] = sum(s["rps"] for s in stats)
    total["p50_us"] = max(s["p50_us"] for s in stats)
    total["p99_us"] = merged_percentile(stats, 99)
    total["max_us"] = max(s["max_us"] for s in stats)
    # As one run of combine(): the slowest tail of the two stands for both.
    total["tail_us"] = max((s["tail_us"] for s in stats), key=lambda t: t[-1])
    return total, [s["requests"] for s in stats]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", required=True, help="a PostgreSQL server")
    parser.add_argument("--passes", type=int, default=16_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=2, help="per load run (default 2)")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make system-deps installs it)")

    tmp = Path(tempfile.mkdtemp(prefix="eventtrack-bench-cluster-"))
    database_url, drop = make_database(args.postgres)
    servers = []
    try:
        instance, out = tmp / "instance", tmp / "out"
        instance.mkdir()
        out.mkdir()
        meeting_id, api_token = fill(database_url, instance, args.passes, tmp / "tokens.txt")
        # Two halves of the passes, one for each server: no pass is sent to both. One file:
        # the check-in script's nonces are the passes' line numbers, unique only in it.
        region = args.passes // 2
        (tmp / "healthz.lua").write_text(LUA_COMMON)
        (tmp / "checkin.lua").write_text(LUA_COMMON + LUA_CHECKIN)
        # The one server (2 workers), then the two (1 worker each).
        ports = free_port(), free_port(), free_port()
        for port, workers in zip(ports, (2, 1, 1), strict=True):
            servers.append(serve(database_url, port, workers, wait=60))
        one_base, *two_bases = (f"http://127.0.0.1:{port}" for port in ports)
        used = [0, 0]  # passes taken from each half

        def checkins(name: str, base: str, half: int, connections: int) -> tuple:
            env = {
                "BENCH_TOKENS": str(tmp / "tokens.txt"),
                "BENCH_OFFSET": str(half * region + used[half]),
                "BENCH_API_TOKEN": api_token,
                "BENCH_MEETING": str(meeting_id),
            }
            return name, base, connections, env

        for n, base in enumerate((one_base, *two_bases)):
            load([(f"warmup{n}", f"{base}/healthz", CONNECTIONS, {})], tmp, 1, out)
        one_runs, two_runs, health_runs = [], [], []
        for n in range(args.rounds):
            # A round takes at most what the last one did, with room to spare; else stop.
            per_run = max((r["requests"] for r in one_runs + two_runs), default=0)
            if n and min(region - u for u in used) < 2 * per_run + CONNECTIONS:
                print(f"passes for {n} rounds only (--passes to make more)", flush=True)
                break
            # Two wrk processes of 25 connections each time: only the servers differ.
            each = CONNECTIONS // 2
            one, parts = load(
                [checkins(f"one{n}{i}", one_base, i, each) for i in range(2)],
                tmp,
                args.seconds,
                out,
            )
            for half, requests in enumerate(parts):
                used[half] += requests + each
            two, parts = load(
                [checkins(f"two{n}{i}", base, i, each) for i, base in enumerate(two_bases)],
                tmp,
                args.seconds,
                out,
            )
            for half, requests in enumerate(parts):
                used[half] += requests + each
            health, _ = load(
                [(f"healthz{n}", f"{one_base}/healthz", CONNECTIONS, {})], tmp, args.seconds, out
            )
            one_runs.append(one)
            two_runs.append(two)
            health_runs.append(health)
        ok, lines = report(
            (database_url, out, meeting_id), args.seconds, one_runs, two_runs, health_runs
        )
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(20)
        drop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(lines))
    print("database check:", "every 2xx check-in is there exactly once" if ok else "FAILED")
    return 0 if ok else 1


def report(run, seconds, one_runs, two_runs, health_runs) -> tuple[bool, list[str]]:
    """Print the figures; check the database of ``run`` (url, answers, meeting id)."""
    rounds = len(one_runs)

    one, two, health = combine(one_runs), combine(two_runs), combine(health_runs)
    print(
        f"\nPostgreSQL, 2 gunicorn sync workers in all (1 server of 2, or 2 servers of 1), "
        f"wrk {CONNECTIONS} connections in all, {rounds} alternating rounds of {seconds} s each"
    )
    print(f"{'':36}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>10}")
    for label, stats in (
        ("POST /api/v1/checkins, 1 server", one),
        ("  the same, 2 servers", two),
        ("GET /healthz, 1 server", health),
    ):
        print(
            f"{label:36}{stats['rps']:12.0f}{stats['p50_us'] / 1000:10.1f}"
            f"{stats['p99_us'] / 1000:10.1f}{errors(stats):10d}"
        )
    for n, (a, b) in enumerate(zip(one_runs, two_runs, strict=True), 1):
        print(f"  round {n}: 1 server {a['rps']:.0f}/s, 2 servers {b['rps']:.0f}/s")
    print(
        f"2 servers / 1 server: {two['rps'] / one['rps']:.2f}  (check-in/healthz, 1 server: "
        f"{one['rps'] / health['rps']:.2f})"
    )
    ratio = two["rps"] / one["rps"]
    print(
        f"On this {os.cpu_count()}-core machine both servers, the database and wrk share the "
        "same cores: a second server adds no CPU, so the figure is the cost of coordination, "
        "not a speed-up; a second box brings its own cores."
    )
    if ratio > 1.05:
        load = os.getloadavg()[0]
        print(
            f"Here it is above 1 with the machine busy with other work (load average {load:.1f}):"
            " two gunicorn masters and pools take a larger share of its busy cores; that is the"
            " scheduler's doing, not a second server's speed-up."
        )
    # Each check-in run may leave a request per connection unanswered: 2 runs of 50 a round.
    return verify(*run, 2 * rounds)


if __name__ == "__main__":
    sys.exit(main())
