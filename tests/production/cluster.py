"""Real processes on loopback, as an operator runs eventtrack on several boxes.

A ``Cluster`` starts gunicorn servers (``gunicorn wsgi:app``) and mail workers (``flask
--app eventtrack worker``) as child processes, each in a process group of its own, all
configured by environment variables the way docs/deploy.md configures them: one PostgreSQL
database, a shared secret key, rate limits in Redis under a key prefix of this cluster's own,
mail to an aiosmtpd sink on loopback (``MailSink``). ``close()`` ends every group it started
(SIGTERM, then SIGKILL) whatever happened, so no process or port outlives a test.

Database: ``database()`` makes one per test run with ``flask db upgrade`` (the release step),
shared by the modules (each seeds a group and meeting of its own and looks only at its own
rows) and dropped when the run ends; its name is the suite's PostgreSQL database's
(``EVENTTRACK_TEST_DATABASE_URL``) with ``_cluster_`` and a random suffix.
"""

import asyncio
import atexit
import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("EVENTTRACK_TEST_DATABASE_URL")
# Redis database 15 is test_trust's; the other half of the suite may use Redis at the same
# time: every cluster also has a key prefix of its own.
REDIS_URL = "redis://127.0.0.1:6379/14"
IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.05):
    """Poll ``condition`` until it returns something true; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# --- what a cluster needs on this machine -------------------------------------------------


def require_postgres() -> None:
    """Skip (the SQLite half of the suite) unless a PostgreSQL server is the test database:
    several servers need a shared server database."""
    if not PG_URL:
        pytest.skip(
            "several app servers need a shared server database: runs on the PostgreSQL half "
            "(EVENTTRACK_TEST_DATABASE_URL), which `make test` runs too",
            allow_module_level=True,
        )


def require_redis() -> None:
    """Skip without Redis, except in CI, where a missing Redis fails the test."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): CI needs it")
        pytest.skip(f"Redis at {REDIS_URL} does not answer: shared rate limits need it")


def forget_rate_limits(prefix: str) -> None:
    """Delete a cluster's rate-limit counts from Redis (they would expire within the hour)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    with contextlib.suppress(redis.RedisError):
        keys = client.keys(f"*/{prefix}/*")
        if keys:
            client.delete(*keys)


# --- databases ----------------------------------------------------------------------------


def _admin_connect():
    import psycopg

    return psycopg.connect(PG_URL, autocommit=True)


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))


def _new_name() -> str:
    base = urlsplit(PG_URL).path.lstrip("/") or "postgres"
    return f"{base}_cluster_{secrets.token_hex(4)}"


_made: list[str] = []


def _drop_all() -> None:
    if not _made:
        return
    with _admin_connect() as conn:
        for name in reversed(_made):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _made.clear()


atexit.register(_drop_all)


def database() -> str:
    """The URL of this run's database, migrated by ``flask db upgrade`` (made once)."""
    if not _made:
        name = _new_name()
        with _admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        _made.append(name)
        env = dict(os.environ, EVENTTRACK_DATABASE_URL=database_url(name))
        env["EVENTTRACK_SECRET_KEY"] = "cluster-migrate"
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "eventtrack", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}"
    return database_url(_made[0])


def query(url: str, sql: str, params=None) -> list[tuple]:
    """Rows of one statement, on a connection of its own (what is committed, nothing else)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def with_port(url: str, port: int) -> str:
    """``url`` with the server's port replaced (to go through a proxy)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")
    host = f"{parts.hostname}:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if netloc[1] else host))


def server_port(url: str) -> int:
    return urlsplit(url).port or 5432


# --- seeding with the project's own models and services -------------------------------------


@dataclass
class Seed:
    meeting_id: int
    organiser_email: str
    api_token: str
    passes: list[tuple[int, str]]  # (registration id, pass token), one per member


def seed(url: str, members: int) -> Seed:
    """An organiser with an API token, a group, a meeting open for check-in now (it began ten
    minutes ago: no reminder is due) and ``members`` members registered for it."""
    from sqlalchemy import insert

    from eventtrack import create_app
    from eventtrack.extensions import db
    from eventtrack.models import Group, Meeting, Membership, Registration, User
    from eventtrack.services import accounts
    from eventtrack.services.registrations import new_pass_token

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "seed", "RATELIMIT_ENABLED": False})
    tag = secrets.token_hex(3)
    with app.app_context():
        now = datetime.now(UTC).replace(microsecond=0)
        organiser = User(email=f"organiser-{tag}@cluster.test", name="Olga Organiser")
        group = Group(name=f"Cluster circle {tag}", default_timezone="Europe/Berlin")
        group.memberships.append(Membership(user=organiser, role="organiser", typed_name="Olga"))
        meeting = Meeting(
            group=group,
            title="Cluster meetup",
            starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(hours=2),
            timezone="Europe/Berlin",
            checkin_opens_at=now - timedelta(hours=1),
            checkin_closes_at=now + timedelta(hours=2),
            reminder_minutes=None,
            followup_delay_minutes=0,
        )
        db.session.add_all([organiser, group, meeting])
        db.session.flush()
        users = [
            {"email": f"m{i}-{tag}@cluster.test", "name": f"Member {i} {tag}", "created_at": now}
            for i in range(members)
        ]
        ids = db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True), users
        ).all()
        db.session.execute(
            insert(Membership),
            [
                {"group_id": group.id, "user_id": uid, "role": "member", "typed_name": "M"}
                for uid in ids
            ],
        )
        regs = [
            {
                "meeting_id": meeting.id,
                "user_id": uid,
                "pass_token": new_pass_token(),
                "status": "going",
                "created_at": now,
                "status_changed_at": now,
            }
            for uid in ids
        ]
        reg_ids = db.session.scalars(
            insert(Registration).returning(Registration.id, sort_by_parameter_order=True), regs
        ).all()
        token = accounts.new_api_token(organiser, now)
        db.session.commit()
        result = Seed(
            meeting.id,
            organiser.email,
            token,
            [(rid, r["pass_token"]) for rid, r in zip(reg_ids, regs, strict=True)],
        )
        db.session.remove()
        db.engine.dispose()
    return result


def queue_test_mail(url: str, count: int) -> list[str]:
    """Queue ``count`` messages through the outbox's own ``enqueue``; their Message-IDs."""
    from eventtrack import create_app
    from eventtrack.extensions import db
    from eventtrack.models import OutboxMessage
    from eventtrack.services import outbox
    from eventtrack.transaction import atomic

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "seed", "RATELIMIT_ENABLED": False})
    tag = secrets.token_hex(3)
    with app.app_context():
        now = datetime.now(UTC)
        with atomic():
            for i in range(count):
                outbox.enqueue(
                    now=now,
                    kind="cluster_test",
                    dedup_key=f"cluster:{tag}:{i}",
                    recipient=f"r{i}-{tag}@cluster.test",
                    subject=f"Message {i}",
                    body_text=f"Message {i} of {count}.",
                )
        ids = db.session.scalars(
            db.select(OutboxMessage.message_id).where(
                OutboxMessage.dedup_key.like(f"cluster:{tag}:%")
            )
        ).all()
        db.session.remove()
        db.engine.dispose()
    return list(ids)


# --- HTTP ---------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: no answer at all (connection refused or reset, timeout)
    body: bytes
    headers: dict
    seconds: float
    error: str = ""
    cookies: list[str] = field(default_factory=list)  # "name=value" of each Set-Cookie

    def json(self):
        return json.loads(self.body)


def call(port: int, method: str, path: str, body=None, headers=None, timeout=20.0) -> Answer:
    """One request on a connection of its own (sync gunicorn workers close it anyway)."""
    headers = dict(headers or {})
    data = None
    if body is not None and not isinstance(body, (bytes, str)):
        data = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    elif body is not None:
        data = body
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return Answer(
            response.status,
            payload,
            {k.lower(): v for k, v in response.getheaders()},
            time.monotonic() - started,
            cookies=[
                v.split(";")[0] for k, v in response.getheaders() if k.lower() == "set-cookie"
            ],
        )
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, b"", {}, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


# --- the SMTP sink ------------------------------------------------------------------------


class Hold:
    """The sink holds the message numbered ``at`` (1-based, in arrival order) until released,
    so that a test can kill or cut the worker sending it at that moment.

    ``keep``: the relay queues the message as it arrives, before its answer can reach the
    worker (RFC 1047's window: a sender that dies then never learns it was taken); else the
    relay dies before taking it and answers nothing useful (421)."""

    def __init__(self, at: int, keep: bool):
        self.at, self.keep = at, keep
        self.reached = threading.Event()
        self.released = threading.Event()
        self.message_id = None

    def release(self) -> None:
        self.released.set()


class MailSink:
    """An aiosmtpd server on loopback keeping every message it accepts, by Message-ID.

    ``delay``: seconds each message takes (a slow relay), so a worker is mid-batch long enough
    to be killed or cut there. ``hold(n)``: stop at the n-th message until the test says.
    """

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.port = free_port()
        self.received: list[tuple[str, str]] = []  # (envelope recipient, Message-ID)
        self.arrived = 0
        self.lock = threading.Lock()
        self.holds: dict[int, Hold] = {}
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.arrived += 1
            hold = self.holds.get(self.arrived)
        if self.delay:
            await asyncio.sleep(self.delay)
        if hold is not None:
            hold.message_id = msg["Message-ID"]
            if hold.keep:
                self._keep(envelope, msg)
            hold.reached.set()
            while not hold.released.is_set():  # cancelled if the worker's connection dies
                await asyncio.sleep(0.01)
            return "250 OK" if hold.keep else "421 4.3.2 Service shutting down"
        self._keep(envelope, msg)
        return "250 OK"

    def _keep(self, envelope, msg) -> None:
        with self.lock:
            self.received.append((envelope.rcpt_tos[0], msg["Message-ID"]))

    def hold(self, at: int, keep: bool) -> Hold:
        self.holds[at] = Hold(at, keep)
        return self.holds[at]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [mid for _, mid in self.received]

    def start(self) -> "MailSink":
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        for hold in self.holds.values():
            hold.release()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- processes ----------------------------------------------------------------------------


class Process:
    """A child process in a group of its own, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.log_path = name, log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """kill -9 of this process alone (its children, if any, are left to their fate)."""
        os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after ``timeout``."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(self.pid):
                if self.popen.poll() is None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.popen.wait(0.05)
                else:
                    time.sleep(0.05)
            if not _group_alive(self.pid):
                break
        if self.popen.poll() is None:
            self.popen.wait(5)
        self._log.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Server(Process):
    """A gunicorn master and its workers."""

    def __init__(self, name, argv, env, log, port):
        super().__init__(name, argv, env, log)
        self.port = port

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def call(self, method, path, body=None, headers=None, timeout=20.0) -> Answer:
        return call(self.port, method, path, body, headers, timeout)


@dataclass
class Cluster:
    """Servers and mail workers against one database; ``with Cluster(...) as c`` ends them all."""

    database_url: str
    logs: Path
    mail_port: int | None = None
    settings: dict = field(default_factory=dict)  # EVENTTRACK_* for every process
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    redis_prefix: str = field(default_factory=lambda: f"cluster-{secrets.token_hex(6)}")
    processes: list[Process] = field(default_factory=list)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def env(self, database_url: str | None = None, **settings) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTTRACK_")}
        values = {
            "DATABASE_URL": database_url or self.database_url,
            "SECRET_KEY": self.secret,
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": self.redis_prefix,
        }
        if self.mail_port is not None:
            values.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=self.mail_port)
        values.update(**self.settings, **settings)
        env.update({f"EVENTTRACK_{k}": str(v) for k, v in values.items()})
        env["PYTHONUNBUFFERED"] = "1"  # the worker's lines reach its log as they happen
        return env

    def start_server(self, workers: int = 2, database_url: str | None = None, **settings):
        """``gunicorn wsgi:app`` on a free loopback port (not waited for: ``wait_ready``)."""
        port = free_port()
        n = sum(isinstance(p, Server) for p in self.processes) + 1
        argv = [
            str(BIN / "gunicorn"),
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--worker-tmp-dir=/dev/shm",
            # The app is imported once and forked: a worker killed is back in milliseconds.
            "--preload",
            "--graceful-timeout=5",
            "--log-level=warning",
            "wsgi:app",
        ]
        env = self.env(database_url, BASE_URL=f"http://127.0.0.1:{port}", **settings)
        server = Server(f"server{n}", argv, env, self.logs / f"server{n}.log", port)
        self.processes.append(server)
        return server

    def start_worker(self, interval: float = 0.3, **settings) -> Process:
        """``flask --app eventtrack worker`` (follow-ups, reminders, mail), a round every
        ``interval`` seconds."""
        n = sum(not isinstance(p, Server) for p in self.processes) + 1
        argv = [str(BIN / "flask"), "--app", "eventtrack", "worker", f"--interval={interval}"]
        worker = Process(f"worker{n}", argv, self.env(**settings), self.logs / f"worker{n}.log")
        self.processes.append(worker)
        return worker

    def wait_ready(self, *servers: Server, timeout: float = 60) -> None:
        """Until every server answers ``/readyz`` with 200."""
        for server in servers:

            def ready(server=server):
                if not server.alive():
                    raise AssertionError(f"{server.name} exited:\n{server.output()[-3000:]}")
                return server.call("GET", "/readyz", timeout=5).status == 200

            wait_for(ready, timeout, f"{server.name} /readyz", every=0.2)

    def close(self) -> None:
        """SIGTERM to every group at once, then wait for each (SIGKILL what lingers)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


# --- what the database holds --------------------------------------------------------------


def check_ins(url: str, meeting_id: int) -> dict[int, int]:
    """Checked-in registrations of the meeting, each with its number of ``checked_in`` events."""
    rows = query(
        url,
        "SELECT r.id, count(e.id) FROM registrations r LEFT JOIN checkin_events e "
        "ON e.registration_id = r.id AND e.status = 'checked_in' "
        "WHERE r.meeting_id = %s AND r.checked_in_at IS NOT NULL GROUP BY r.id",
        (meeting_id,),
    )
    return dict(rows)


def stray_check_in_events(url: str, meeting_id: int) -> int:
    """``checked_in`` events of registrations that are not checked in (should be none)."""
    return query(
        url,
        "SELECT count(*) FROM checkin_events e JOIN registrations r ON r.id = e.registration_id "
        "WHERE r.meeting_id = %s AND e.status = 'checked_in' AND r.checked_in_at IS NULL",
        (meeting_id,),
    )[0][0]


def outbox_rows(url: str, where: str = "TRUE", params=None) -> list[tuple]:
    """(message_id, status, attempts, claimed_by, kind) of outbox rows."""
    return query(
        url,
        f"SELECT message_id, status, attempts, claimed_by, kind FROM outbox_messages WHERE {where}",
        params,
    )
