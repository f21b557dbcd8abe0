"""HTTP on loopback, child processes in groups of their own, and the cluster of them."""

import contextlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .base import BIN, REDIS_URL, ROOT, free_port, wait_for

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

    def __init__(self, name, argv, env, log, port, workers):
        super().__init__(name, argv, env, log)
        self.port, self.workers = port, workers

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
        server = Server(f"server{n}", argv, env, self.logs / f"server{n}.log", port, workers)
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
        """Until every server has all its workers and answers ``/readyz`` with 200."""
        for server in servers:

            def ready(server=server):
                if not server.alive():
                    raise AssertionError(f"{server.name} exited:\n{server.output()[-3000:]}")
                # Every worker forked (the master forks them one by one), and ready.
                if len(server.worker_pids()) < server.workers:
                    return False
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
