"""docs/deploy.md, run: the commands of its marked blocks, the files of deploy/.

Each block of the guide marked ``<!-- test: NAME -->`` is read from the page itself
(``doc_commands``) and run here as written, but for what only a real server has: ``sudo -u X``
is dropped (the test's own user runs it), ``/srv/eventtrack`` is this checkout, and the names
of roles, databases and files are the test's own. The units are checked by
``systemd-analyze verify``; the nginx site by ``nginx -t`` and by real requests through a real
nginx to a real gunicorn started the way eventtrack-web.service starts it.
"""

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from eventtrack.config import DEFAULTS

from .cluster import Process, free_port, wait_for
from .test_logging import restore_logging  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "deploy.md"
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("EVENTTRACK_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI") == "true"
# Settings the app reads beyond DEFAULTS (config.load_config, logs.init_logging).
KNOWN_SETTINGS = set(DEFAULTS) | {"DATABASE_URL", "SECRET_KEY", "LOG_JSON"}


# --- the guide's commands ---------------------------------------------------------------------


def doc_commands(name: str) -> list[str]:
    """The commands of the block marked ``<!-- test: name -->`` in docs/deploy.md."""
    text = DOCS.read_text()
    found = re.search(rf"<!-- test: {re.escape(name)} -->\n```sh\n(.*?)```", text, re.S)
    assert found, f"docs/deploy.md has no block marked <!-- test: {name} -->"
    lines = found.group(1).replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def as_here(command: str, *replacements: tuple[str, str]) -> str:
    """A documented command as this machine runs it: no ``sudo [-u USER]``, this checkout for
    /srv/eventtrack, then each (regex, replacement) in order."""
    command = re.sub(r"^sudo (-u \S+ )?", "", command)
    command = command.replace("/srv/eventtrack", str(ROOT))
    for pattern, new in replacements:
        command = re.sub(pattern, new, command)
    return command


def run(command: str, env: dict | None = None, input: str | None = None, timeout=120):
    """Run one shell command; fail the test with its output if it fails."""
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
    return done


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads them (comments, quotes)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def write_env_file(path: Path, database_url: str, **overrides) -> Path:
    """The example environment file with this test's database, mail to files in a temporary
    folder and no Redis; other lines as shipped."""
    values = read_env_file(DEPLOY / "eventtrack.env.example")
    values.update(
        EVENTTRACK_DATABASE_URL=database_url,
        EVENTTRACK_SECRET_KEY=secrets.token_hex(32),
        EVENTTRACK_MAIL_SERVER="",
        EVENTTRACK_MAIL_OUTBOX_DIR=str(path.parent / "mail"),
        EVENTTRACK_RATELIMIT_STORAGE_URI="memory://",
    )
    values.update(overrides)
    path.write_text("".join(f'{key}="{value}"\n' for key, value in values.items()))
    return path


# --- PostgreSQL names of this test's own ----------------------------------------------------


def pg_name(kind: str) -> str:
    """A database or role name starting with the suite database's name (``test_deploy`` …)."""
    base = urlsplit(PG_URL).path.lstrip("/") or "postgres"
    return f"{base}_{kind}_{secrets.token_hex(3)}"


def pg_url(name: str, user: str | None = None) -> str:
    parts = urlsplit(PG_URL)
    netloc = f"{user}@{parts.hostname}:{parts.port or 5432}" if user else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}"))


def libpq_env() -> dict:
    """The environment in which ``psql``, ``createdb`` and ``pg_dump`` reach the test server
    as its administrator (``sudo -u postgres`` on a real server)."""
    parts = urlsplit(PG_URL)
    env = dict(os.environ, PGHOST=parts.hostname or "127.0.0.1", PGPORT=str(parts.port or 5432))
    env["PGUSER"] = parts.username or "postgres"
    if parts.password:
        env["PGPASSWORD"] = parts.password
    env["PGDATABASE"] = "postgres"
    return env


def drop_pg(database: str | None = None, role: str | None = None) -> None:
    env = libpq_env()
    if database:
        subprocess.run(
            ["psql", "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], env=env
        )
    if role:
        subprocess.run(["psql", "-qc", f'DROP ROLE IF EXISTS "{role}"'], env=env)


@pytest.fixture
def database(tmp_path):
    """A fresh empty database and the URL its owner connects with: on PostgreSQL made by the
    guide's own commands (a role and a database it owns), else a SQLite file."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'eventtrack.sqlite3'}"
        return
    name = pg_name("deploy")
    env = libpq_env()
    try:
        for command in doc_commands("database"):
            run(as_here(command, (r"\beventtrack\b", name)), env=env)
        yield pg_url(name, user=name)
    finally:
        drop_pg(database=name, role=name)


# --- the guide's blocks -----------------------------------------------------------------------


def test_guide_names_debian_packages_apt_knows():
    if shutil.which("apt-cache") is None:
        pytest.skip("no apt-cache here: not a Debian machine")
    [_, install] = doc_commands("packages")
    packages = [word for word in shlex.split(install)[4:] if not word.startswith("-")]
    assert "nginx" in packages and "postgresql" in packages and "redis-server" in packages
    known = subprocess.run(["apt-cache", "show", *packages], capture_output=True, text=True)
    for package in packages:
        assert f"Package: {package}\n" in known.stdout, f"apt knows no package {package}"


def test_environment_file_holds_known_settings_read_alike_by_systemd_and_the_shell():
    path = DEPLOY / "eventtrack.env.example"
    values = read_env_file(path)
    for key in values:
        assert key.startswith(("EVENTTRACK_", "GUNICORN_")), key
        if key.startswith("EVENTTRACK_"):
            assert key.removeprefix("EVENTTRACK_") in KNOWN_SETTINGS, f"{key}: no such setting"
    for needed in ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "MAIL_SERVER", "MAIL_FROM"):
        assert f"EVENTTRACK_{needed}" in values
    assert values["EVENTTRACK_BASE_URL"].startswith("https://")
    assert values["EVENTTRACK_RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert values["EVENTTRACK_PROXIES"] == "1" and values["EVENTTRACK_LOG_JSON"] == "1"
    # deploy/eventtrack-cli reads it with the shell: the same values.
    shell = subprocess.run(
        ["sh", "-c", 'set -a; . "$1"; env -0', "sh", str(path)],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {key: seen.get(key) for key in values} == values


def test_settings_go_where_the_units_and_the_cli_read_them():
    [_, install, _] = doc_commands("settings")
    source, target = shlex.split(install)[-2:]
    assert source == "deploy/eventtrack.env.example"
    for unit in ("eventtrack-web.service", "eventtrack-worker.service"):
        assert f"EnvironmentFile={target}\n" in (DEPLOY / unit).read_text()
    assert f"EVENTTRACK_ENV_FILE:-{target}}}" in (DEPLOY / "eventtrack-cli").read_text()


@pytest.mark.usefixtures("restore_logging")  # the file turns on JSON logs
def test_app_reads_the_environment_file_as_meant(monkeypatch):
    from eventtrack import create_app

    values = read_env_file(DEPLOY / "eventtrack.env.example")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    app = create_app()
    config = app.config
    assert config["PROXIES"] == 1 and config["LOG_JSON"] == 1
    assert config["MAIL_PORT"] == 587 and config["MAIL_USE_TLS"] is True
    assert config["MAIL_FROM"] == "Example Meetups <noreply@meet.example.org>"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["SESSION_COOKIE_SECURE"] is True  # https BASE_URL
    assert config["SECRET_KEY"] == values["EVENTTRACK_SECRET_KEY"]
    assert config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024  # = nginx's client_max_body_size


def test_first_release_migrates_and_creates_an_organiser(database, tmp_path):
    """The first release's commands, then the monitoring one; /readyz says 503 (keep this
    server out) until the release step migrated the database."""
    from eventtrack import create_app

    env_file = write_env_file(tmp_path / "eventtrack.env", database)
    env = dict(os.environ, EVENTTRACK_ENV_FILE=str(env_file))
    upgrade, organiser = doc_commands("release-first")
    # Every release runs the same step (it is a no-op when nothing is new).
    assert upgrade in doc_commands("release")
    app = create_app({"DATABASE_URL": database, "SECRET_KEY": "x", "INSTANCE_PATH": tmp_path})
    try:
        before = app.test_client().get("/readyz")
        assert before.status_code == 503 and "flask db upgrade" in before.json["reason"]
        run(as_here(upgrade), env=env)
        after = app.test_client().get("/readyz")
        assert after.status_code == 200, after.json
    finally:
        with app.app_context():
            from eventtrack.extensions import db

            db.engine.dispose()

    done = run(as_here(organiser), env=env, input="a-good-password\na-good-password\n")
    assert "Organiser you@example.org ready" in done.stdout
    assert "https://meet.example.org/login" in done.stdout  # BASE_URL from the file
    [status] = doc_commands("monitor")
    counts = run(as_here(status), env=env).stdout
    assert re.fullmatch(r"pending \d+  retrying \d+  sending \d+  sent \d+  failed \d+\n", counts)


# --- systemd --------------------------------------------------------------------------------


UNITS = sorted(DEPLOY.glob("*.service")) + sorted(DEPLOY.glob("*.timer"))


def test_guide_installs_every_unit_of_deploy():
    installed = " ".join(doc_commands("services") + doc_commands("backup-install"))
    assert {unit.name for unit in UNITS} <= set(re.findall(r"deploy/(\S+)", installed))


def test_units_pass_systemd_analyze_verify(tmp_path):
    env_file = write_env_file(tmp_path / "eventtrack.env", "sqlite://")
    for unit in UNITS:
        text = unit.read_text()
        text = text.replace("/etc/eventtrack/eventtrack.env", str(env_file))
        (tmp_path / unit.name).write_text(text.replace("/srv/eventtrack", str(ROOT)))
    units = [str(tmp_path / unit.name) for unit in UNITS]
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                program = line.split("=", 1)[1].split()[0].replace("/srv/eventtrack", str(ROOT))
                assert os.access(program, os.X_OK), f"{unit.name}: {program} is not executable"
    if shutil.which("systemd-analyze") is None:
        if IN_CI:
            pytest.fail("systemd-analyze is missing: CI verifies the units with it")
        pytest.skip("systemd-analyze is missing: units not verified (ExecStart paths were)")
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # An unknown key or a bad value is only a warning, and the exit status stays 0: any output
    # at all fails the test.
    assert verify.returncode == 0 and not verify.stderr.strip() and not verify.stdout.strip(), (
        verify.stdout + verify.stderr
    )


def test_web_unit_runs_gunicorn_with_the_shipped_config(tmp_path):
    unit = (DEPLOY / "eventtrack-web.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    assert "/srv/eventtrack/.venv/bin/gunicorn" in exec_start and "wsgi:app" in exec_start
    for key in ("User=eventtrack", "EnvironmentFile=/etc/eventtrack/eventtrack.env"):
        assert key in unit
    assert "Restart=on-failure" in unit
    worker = (DEPLOY / "eventtrack-worker.service").read_text()
    assert "ExecStart=/srv/eventtrack/.venv/bin/flask --app eventtrack worker" in worker
    assert "Restart=on-failure" in worker and "User=eventtrack" in worker
    # gunicorn loads the shipped config and the app, as the unit starts it, and stops.
    env = dict(os.environ, **read_env_file(write_env_file(tmp_path / "env", "sqlite://")))
    checked = subprocess.run(
        shlex.split(exec_start.replace("/srv/eventtrack", str(ROOT))) + ["--check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- nginx in front of gunicorn ---------------------------------------------------------------


def _require_nginx() -> str:
    nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if nginx is None:
        if IN_CI:
            pytest.fail("nginx is missing: CI tests the site file with it (Debian package nginx)")
        pytest.skip("nginx is missing (apt-get install nginx): the site file was not tested")
    return nginx


def _site_here(tmp_path: Path, https: int, http_port: int, app_port: int) -> Path:
    """The shipped site file with a throw-away certificate, free loopback ports and this
    checkout's static folder; nothing else changed."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=meet.example.org",
            "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx-eventtrack.conf").read_text()
    for old, new in (
        ("/etc/letsencrypt/live/meet.example.org/fullchain.pem", str(tmp_path / "cert.pem")),
        ("/etc/letsencrypt/live/meet.example.org/privkey.pem", str(tmp_path / "key.pem")),
        ("listen 443 ", f"listen 127.0.0.1:{https} "),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("127.0.0.1:8000", f"127.0.0.1:{app_port}"),
        ("/srv/eventtrack/", f"{ROOT}/"),
        ("/var/www/letsencrypt", str(tmp_path / "acme")),
    ):
        assert old in site, old
        site = site.replace(old, new)
    site = re.sub(r"^\s*listen \[::\].*\n", "", site, flags=re.M)  # no IPv6 in every container
    (tmp_path / "site.conf").write_text(site)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers read the test's 0700 folder
        + f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        + "http {\n  include /etc/nginx/mime.types;\n"
        + f"  access_log {tmp_path}/access.log;\n"
        + "".join(
            f"  {kind}_temp_path {temp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {tmp_path}/site.conf;\n}}\n"
    )
    return conf


class Client:
    """HTTPS to nginx from one loopback address (all of 127.0.0.0/8 is this machine)."""

    def __init__(self, port: int, source: str):
        context = ssl.create_default_context(cafile=None)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.conn = http.client.HTTPSConnection(
            "127.0.0.1", port, context=context, source_address=(source, 0), timeout=20
        )

    def request(self, method: str, path: str, body=None, headers=None):
        self.conn.request(
            method, path, body=body, headers={"Host": "meet.example.org", **(headers or {})}
        )
        response = self.conn.getresponse()
        return response, response.read()

    def close(self) -> None:
        self.conn.close()


def test_nginx_site_serves_the_app_over_tls_with_the_clients_address(tmp_path):
    nginx = _require_nginx()
    app_port, https, http_port = free_port(), free_port(), free_port()
    conf = _site_here(tmp_path, https, http_port, app_port)
    [check] = [c for c in doc_commands("nginx") if c.endswith("nginx -t")]
    tested = subprocess.run(
        [nginx, *shlex.split(as_here(check))[1:], "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stderr

    database = f"sqlite:///{tmp_path / 'eventtrack.sqlite3'}"
    env_file = write_env_file(tmp_path / "eventtrack.env", database, GUNICORN_WORKERS="1")
    env = dict(os.environ, **read_env_file(env_file))
    run(f"{BIN}/flask --app eventtrack db upgrade", env=env)
    unit = (DEPLOY / "eventtrack-web.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    exec_start = exec_start.replace("/srv/eventtrack", str(ROOT))
    gunicorn = Process(
        "gunicorn",
        shlex.split(exec_start) + ["-b", f"127.0.0.1:{app_port}"],
        env,
        tmp_path / "gunicorn.log",
    )
    proxy = Process(
        "nginx",
        [nginx, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
        dict(os.environ),
        tmp_path / "nginx.log",
    )
    try:
        wait_for(lambda: _answers(app_port) or not gunicorn.alive(), 60, "gunicorn")
        assert gunicorn.alive(), gunicorn.output()
        wait_for(lambda: _answers(https) or not proxy.alive(), 30, "nginx")
        assert proxy.alive(), proxy.output()
        _check_through_nginx(https, http_port)
        log = _json_lines(gunicorn.output())
    finally:
        proxy.stop()
        gunicorn.stop()
    # The rate limiter's line names the client's address, the one nginx saw, not a forged
    # one and not nginx's own; the JSON line says where it came from.
    [limited] = [line for line in log if "exceeded" in line["message"]]
    assert "(127.0.0.2)" in limited["message"] and limited["remote_addr"] == "127.0.0.2"
    assert limited["path"] == "/c/not-a-code" and limited["logger"] == "flask-limiter"
    # gunicorn's own lines are JSON too (deploy/gunicorn.conf.py).
    assert any(line["logger"] == "gunicorn.error" for line in log)


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _json_lines(output: str) -> list[dict]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line in gunicorn's output: {line!r}\n{output}")
    return parsed


def _check_through_nginx(https: int, http_port: int) -> None:
    clients = [Client(https, "127.0.0.2"), Client(https, "127.0.0.3"), Client(https, "127.0.0.2")]
    try:
        _requests_through_nginx(*clients, http_port)
    finally:
        for client in clients:
            client.close()


def _requests_through_nginx(ada: Client, grace: Client, ada_again: Client, http_port: int):

    response, body = ada.request("GET", "/readyz")
    assert response.status == 200 and json.loads(body) == {"reason": "ok", "status": "ready"}
    assert response.getheader("Strict-Transport-Security")  # https BASE_URL: the app's own

    # Static files come from nginx: none of the headers the app adds to its own answers.
    response, body = ada.request("GET", "/static/css/app.css")
    assert response.status == 200 and body == (ROOT / "static/css/app.css").read_bytes()
    assert response.getheader("Content-Security-Policy") is None
    assert response.getheader("X-Content-Type-Options") == "nosniff"

    # Plain http: to https.
    plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=20)
    plain.request("GET", "/login?next=/organise/", headers={"Host": "meet.example.org"})
    redirect = plain.getresponse()
    redirect.read()
    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://meet.example.org/login?next=/organise/"
    plain.close()

    # A body over MAX_CONTENT_LENGTH stops at nginx (which may close the connection after).
    response, _ = ada_again.request("POST", "/api/v1/groups", body=b"x" * (3 * 1024 * 1024))
    assert response.status == 413 and response.getheader("Server").startswith("nginx")

    # The client's address, through X-Forwarded-For and EVENTTRACK_PROXIES=1: 60 look-ups a
    # minute per address, a forged header changes nothing, another address has its own count.
    limit = 60
    for n in range(limit):
        forged = {"X-Forwarded-For": f"10.0.0.{n}"}
        response, _ = ada.request("GET", "/c/not-a-code", headers=forged)
        assert response.status != 429, f"limited after {n} look-ups"
    response, _ = ada.request("GET", "/c/not-a-code", headers={"X-Forwarded-For": "10.9.9.9"})
    assert response.status == 429
    response, _ = grace.request("GET", "/c/not-a-code")
    assert response.status != 429
