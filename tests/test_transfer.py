"""Moving house: ``export-data`` / ``import-data`` carry a whole installation to another
database and back, nothing lost.

The source is always a SQLite file filled by ``flask demo`` and by hand with a row in every
table. It travels SQLite → PostgreSQL → SQLite on the PostgreSQL half of the suite (into a
database of its own on that server, created and dropped here: the suite's schema is never
touched), and SQLite → SQLite → SQLite on the SQLite half; every table is compared row by row,
values and their Python types.
"""

import gzip
import json
import os
import secrets
import subprocess
import sys
import tracemalloc
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import flask_migrate
import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.models import Connection, Group, Meeting, OutboxMessage, Registration, User
from eventtrack.models.followup import FollowUp, Goal
from eventtrack.services import accounts, checkin, connections, followups, sessions, transfer
from eventtrack.services.registrations import new_pass_token
from eventtrack.transaction import atomic
from tests import factories

PG_URL = os.environ.get("EVENTTRACK_TEST_DATABASE_URL")
# Where the installation moves to and back from: the server of the half being run.
MIDDLE = "postgresql" if PG_URL else "sqlite"
TRICKY_TEXT = "Zoë 🎉 «quotes» \"double\" \\ back\nnew line\r\nwindows\ttab\u2028separator 'single'"
BIG = 2**31 - 1  # the largest an INTEGER column holds on PostgreSQL


@contextmanager
def _app_on(app_config, url):
    app = create_app({**app_config, "DATABASE_URL": url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _admin_engine():
    return create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture
def new_database(tmp_path, app_config):
    """``new_database(kind, revision)``: the URL of a new database migrated to ``revision``; a
    PostgreSQL one is a database of its own on the suite's server, dropped afterwards."""
    made = []

    def make(kind=MIDDLE, revision="head"):
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'target-{secrets.token_hex(4)}.sqlite3'}"
        else:
            name = f"test_transfer_{secrets.token_hex(4)}"
            admin = _admin_engine()
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            made.append(name)
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with _app_on(app_config, url):
            flask_migrate.upgrade(revision=revision)
        return url

    yield make
    if made:
        admin = _admin_engine()
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _rows() -> dict[str, list[tuple]]:
    """Every row of every table, in id order, each value beside its type (True is not 1)."""
    return {
        table.name: [
            tuple((type(value).__name__, value) for value in row)
            for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in db.metadata.sorted_tables
    }


def _fill_by_hand(now: datetime) -> None:
    """Through the services, a row in each table the demo leaves empty; then rows holding the
    values a move could bend: unicode and line breaks, microseconds, far dates, NULLs, the
    largest integer, booleans both ways, JSON, and a deleted user whose id is not to be reused."""
    organiser = db.session.scalar(select(User).where(User.email == "organiser@example.com"))
    done = db.session.scalar(select(Registration).where(Registration.checked_in_at.is_not(None)))
    with atomic():
        connections.code_for(done, now)
        followups.set_goal(done.meeting, done.user, "Call two people I met", now)
    fresh = db.session.scalar(select(Registration).where(Registration.checked_in_at.is_(None)))
    checkin.check_in_registration(fresh, organiser, now)
    factories.api_token(organiser, now)
    with atomic():
        accounts.request_login_link(organiser.email, now)
        sessions.start(organiser, now)
        accounts.request_signup("newcomer@example.com", "Nia", "a long password", now)

    precise = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)
    zoe = factories.user(
        name="Zoë Ünïcode 🎉", interests=TRICKY_TEXT, share_contact=True, followup_emails=False
    )
    group = Group(name="Ωmega\nCircle", description=TRICKY_TEXT, archived_at=precise)
    db.session.add(group)
    db.session.flush()
    far = datetime(2999, 12, 31, 22, 0, 0, 1, tzinfo=UTC)
    meeting = Meeting(
        group_id=group.id,
        title="Far future",
        starts_at=far,
        ends_at=far + timedelta(minutes=90),
        checkin_opens_at=far - timedelta(hours=1),
        checkin_closes_at=far + timedelta(minutes=90),
        capacity=BIG,
        reminder_minutes=None,
        followups_queued_at=precise,
    )
    db.session.add(meeting)
    db.session.flush()
    past = db.session.scalar(select(Meeting).order_by(Meeting.starts_at))
    met = db.session.scalar(select(Connection))
    db.session.add_all(
        [
            Registration(meeting_id=meeting.id, user_id=zoe.id, pass_token=new_pass_token()),
            FollowUp(
                meeting_id=met.meeting_id,
                owner_id=met.user_b_id,
                other_id=met.user_a_id,
                state="snoozed",
                snoozed_until=date(2027, 2, 28),
                promise=TRICKY_TEXT[:300],
                promise_due=date(1999, 12, 31),
                updated_at=precise,
            ),
            Goal(
                user_id=zoe.id,
                meeting_id=past.id,
                text=TRICKY_TEXT,
                outcome="not_yet",
                answered_at=precise,
                answered_at_meeting_id=meeting.id,
            ),
            OutboxMessage(
                kind="hand",
                dedup_key="hand:1",
                recipient=zoe.email,
                recipient_name=zoe.name,
                message_id="<hand.1@eventtrack.test>",
                subject="Ünïcode subject",
                body_text=TRICKY_TEXT,
                headers={"X-Ünï": "väl\nue", "numbers": [0, -1, 2.5, BIG * 4, None, True]},
                attachments=[{"name": "a.ics", "nested": {"empty": "", "list": []}}],
                status="failed",
                attempts=BIG,
                last_error=TRICKY_TEXT,
                sent_at=None,
            ),
        ]
    )
    gone = User(name="Deleted", email="deleted@example.com")
    db.session.add(gone)
    db.session.commit()
    db.session.delete(gone)  # the highest user id: never to be handed out again
    db.session.commit()


@pytest.fixture(scope="module")
def source(tmp_path_factory, app_config):
    """A filled SQLite database, exported once: its URL, the file and every row."""
    folder = tmp_path_factory.mktemp("transfer")
    url = f"sqlite:///{folder / 'source.sqlite3'}"
    with _app_on(app_config, url) as app:
        flask_migrate.upgrade()
        assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
        _fill_by_hand(datetime.now(UTC))
        rows = _rows()
        empty = [name for name, table_rows in rows.items() if not table_rows]
        # A table added later must be given a row here, or its move is not tested.
        assert empty == [], f"tables without a row in the source: {empty}"
        max_user_id = db.session.scalar(select(func.max(User.id)))
        result = app.test_cli_runner().invoke(args=["export-data", str(folder / "source.jsonl")])
        assert result.exit_code == 0, result.output
    return SimpleNamespace(
        url=url, file=folder / "source.jsonl", rows=rows, max_user_id=max_user_id, folder=folder
    )


def _cli(app_config, url, *args):
    with _app_on(app_config, url) as app:
        return app.test_cli_runner().invoke(args=list(args))


def _rows_at(app_config, url):
    with _app_on(app_config, url):
        return _rows()


def test_a_whole_installation_moves_and_comes_back_unchanged(
    source, new_database, app_config, tmp_path
):
    middle = new_database()
    moved = _cli(app_config, middle, "import-data", str(source.file))
    assert moved.exit_code == 0, moved.output
    total = sum(len(r) for r in source.rows.values())
    assert f"imported {total:,} rows of {len(source.rows)} tables" in moved.output
    assert _rows_at(app_config, middle) == source.rows

    back_file = tmp_path / "back.jsonl.gz"
    exported = _cli(app_config, middle, "export-data", str(back_file))
    assert exported.exit_code == 0, exported.output
    back_data = gzip.decompress(back_file.read_bytes())
    assert back_data.startswith(b'{"format":"eventtrack-export"')
    # Every secret of the installation is in there: for its owner's eyes only.
    for exported_file in (source.file, back_file):
        assert exported_file.stat().st_mode & 0o777 == 0o600
    back = new_database("sqlite")
    returned = _cli(app_config, back, "import-data", str(back_file))
    assert returned.exit_code == 0, returned.output
    assert _rows_at(app_config, back) == source.rows
    # And the files agree row for row: only the header's when and where differ.
    there, again = source.file.read_bytes().splitlines(), back_data.splitlines()
    assert there[1:-1] == again[1:-1]


def test_new_rows_after_the_move_take_fresh_ids(source, new_database, app_config):
    middle = new_database()
    assert _cli(app_config, middle, "import-data", str(source.file)).exit_code == 0
    with _app_on(app_config, middle):
        newcomer = factories.user(name="After the move")
        group = factories.group(owner=newcomer)
        meeting = factories.meeting(group)
        registration = factories.registration(meeting, newcomer)
        # Above the deleted user's id too, as SQLite's AUTOINCREMENT keeps it.
        assert newcomer.id == source.max_user_id + 2
        assert group.id == len(source.rows["groups"]) + 1
        assert meeting.id == max(row[0][1] for row in source.rows["meetings"]) + 1
        assert registration.id == max(row[0][1] for row in source.rows["registrations"]) + 1


def test_import_refuses_a_database_that_is_not_empty(source, new_database, app_config):
    target = new_database()
    with _app_on(app_config, target):
        factories.user(name="Already here")
        before = _rows()
    refused = _cli(app_config, target, "import-data", str(source.file))
    assert refused.exit_code != 0
    assert "The database is not empty (users)" in refused.output
    assert "--replace" in refused.output
    assert _rows_at(app_config, target) == before

    replaced = _cli(app_config, target, "import-data", "--replace", str(source.file))
    assert replaced.exit_code == 0, replaced.output
    assert _rows_at(app_config, target) == source.rows


def test_import_refuses_a_database_at_another_revision(source, new_database, app_config):
    target = new_database(revision="0007_routine")
    refused = _cli(app_config, target, "import-data", str(source.file))
    assert refused.exit_code != 0
    assert "revision 0008_members, this database at 0007_routine" in refused.output
    assert "flask db upgrade" in refused.output
    with _app_on(app_config, target):
        assert db.session.scalar(text("SELECT count(*) FROM users")) == 0
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == "0007_routine"


def _cut_in_a_row(data: bytes) -> bytes:
    return data[: data.index(b"\n", len(data) // 2) - 5]


def _cut_at_a_line(data: bytes) -> bytes:
    return data[: data.index(b"\n", len(data) // 2) + 1]


def _changed_value(data: bytes) -> bytes:
    assert data.count(b"Far future") == 1
    return data.replace(b"Far future", b"Far futurE")


def _not_json(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    lines[len(lines) // 2] = b'[1, "unterminated\n'
    return b"".join(lines)


def _gzip_cut(data: bytes) -> bytes:
    zipped = gzip.compress(data)
    return zipped[: len(zipped) * 2 // 3]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_cut_in_a_row, "cut short"),
        (_cut_at_a_line, "cut short"),
        (_changed_value, "its checksum differs"),
        (_not_json, "is damaged (not JSON"),
        (_gzip_cut, "damaged or cut short"),
    ],
)
def test_import_refuses_a_damaged_file_and_writes_nothing(
    source, new_database, app_config, tmp_path, damage, message
):
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(damage(source.file.read_bytes()))
    target = new_database()
    refused = _cli(app_config, target, "import-data", str(damaged))
    assert refused.exit_code != 0
    assert message in refused.output
    assert "Traceback" not in refused.output
    assert all(rows == [] for rows in _rows_at(app_config, target).values())
    # Nothing half-done stays behind: the whole file goes in afterwards.
    assert _cli(app_config, target, "import-data", str(source.file)).exit_code == 0
    assert _rows_at(app_config, target) == source.rows


def test_export_refuses_a_database_behind_the_migrations(new_database, app_config, tmp_path):
    behind = new_database("sqlite", revision="0007_routine")
    refused = _cli(app_config, behind, "export-data", str(tmp_path / "out.jsonl"))
    assert refused.exit_code != 0
    assert "run flask db upgrade first" in refused.output
    assert list(tmp_path.glob("out.jsonl*")) == []


def test_the_flask_command_pipes_one_database_into_another(
    source, new_database, app_config, tmp_path
):
    """The real ``flask`` command, as an operator moves house: export to standard output,
    import from standard input."""
    target = new_database()
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "eventtrack"]
    env = {**os.environ, "EVENTTRACK_SECRET_KEY": "transfer-test"}
    env.pop("EVENTTRACK_TEST_DATABASE_URL", None)
    with subprocess.Popen(
        [*flask, "export-data", "-"],
        env={**env, "EVENTTRACK_DATABASE_URL": source.url},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as exporter:
        importer = subprocess.run(
            [*flask, "import-data", "-"],
            env={**env, "EVENTTRACK_DATABASE_URL": target},
            cwd=tmp_path,
            stdin=exporter.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        exported_err = exporter.stderr.read().decode()
        assert exporter.wait(timeout=60) == 0, exported_err
    assert importer.returncode == 0, importer.stderr
    assert "exported" in exported_err and "imported" in importer.stdout
    assert _rows_at(app_config, target) == source.rows


def test_a_failed_replace_keeps_what_was_there(source, new_database, app_config, tmp_path):
    target = new_database()
    with _app_on(app_config, target):
        last_id = [factories.user(name=f"Kept {n}") for n in range(3)][-1].id
        before = _rows()
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(_cut_at_a_line(source.file.read_bytes()))
    refused = _cli(app_config, target, "import-data", "--replace", str(damaged))
    assert refused.exit_code != 0 and "cut short" in refused.output
    assert _rows_at(app_config, target) == before
    with _app_on(app_config, target):
        assert factories.user().id == last_id + 1


def test_an_integer_the_target_cannot_hold_is_refused_whole(new_database, app_config, tmp_path):
    """SQLite's integers have 64 bits, PostgreSQL's INTEGER 32: such a row stops the move
    with the table named, and nothing of it stays."""
    small = new_database("sqlite")
    with _app_on(app_config, small):
        factories.meeting(factories.group(), capacity=2**40)
        rows = _rows()
    assert _cli(app_config, small, "export-data", str(tmp_path / "big.jsonl")).exit_code == 0
    target = new_database()
    result = _cli(app_config, target, "import-data", str(tmp_path / "big.jsonl"))
    if MIDDLE == "postgresql":
        assert result.exit_code != 0
        assert "The database refused a row of meetings" in result.output
        assert all(table_rows == [] for table_rows in _rows_at(app_config, target).values())
    else:
        assert result.exit_code == 0, result.output
        assert _rows_at(app_config, target) == rows


def test_export_is_one_snapshot_while_the_app_writes(source, new_database, app_config, tmp_path):
    """Rows committed while the export runs are not in the file, in no table: the file is
    the database as it was when the export began."""
    database = new_database()
    assert _cli(app_config, database, "import-data", str(source.file)).exit_code == 0
    written = []

    def write_meanwhile(_rows_done):
        if written:
            return
        with db.engine.begin() as other:  # another connection, committed at once
            other.execute(insert(User.__table__).values(name="Late", email="late@example.com"))
            other.execute(
                insert(OutboxMessage.__table__).values(
                    kind="late",
                    dedup_key="late",
                    recipient="late@example.com",
                    message_id="<late@eventtrack.test>",
                    subject="Late",
                    body_text="",
                )
            )
        written.append(True)

    path = tmp_path / "snapshot.jsonl"
    with (
        _app_on(app_config, database),
        transfer.Snapshot.open() as snapshot,
        path.open("wb") as out,
    ):
        snapshot.write(out, progress=write_meanwhile)
    assert written
    copy = new_database("sqlite")
    assert _cli(app_config, copy, "import-data", str(path)).exit_code == 0
    assert _rows_at(app_config, copy) == source.rows


def test_a_row_whose_parent_is_missing_is_refused_foreign_keys_on(
    source, new_database, app_config, tmp_path
):
    """The import runs with foreign keys enforced, SQLite's too: a membership of a user the
    file does not hold stops it (before the checksum would)."""
    lines = source.file.read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    [columns] = [t["columns"] for t in header["tables"] if t["name"] == "memberships"]
    start = lines.index(b'{"table":"memberships","rows":%d}\n' % len(source.rows["memberships"]))
    row = json.loads(lines[start + 1])
    row[[name for name, _kind in columns].index("user_id")] = 999_999
    lines[start + 1] = json.dumps(row).encode() + b"\n"
    orphan = tmp_path / "orphan.jsonl"
    orphan.write_bytes(b"".join(lines))
    target = new_database()
    refused = _cli(app_config, target, "import-data", str(orphan))
    assert refused.exit_code != 0
    assert "The database refused a row of memberships" in refused.output
    assert "FOREIGN KEY" in refused.output or "foreign key" in refused.output
    assert all(rows == [] for rows in _rows_at(app_config, target).values())


def test_a_large_table_is_streamed_not_held(new_database, app_config, tmp_path):
    """12,000 users go out and back in with Python holding a few batches at a time: the
    memory traced stays a fraction of what the rows take in the file."""
    database = new_database()
    with _app_on(app_config, database):
        with atomic():
            db.session.execute(
                insert(User.__table__),
                [
                    {"name": f"Bulk {n}", "email": f"bulk{n}@example.com", "interests": "x" * 800}
                    for n in range(12_000)
                ],
            )
        path = tmp_path / "large.jsonl"
        tracemalloc.start()
        try:
            with transfer.Snapshot.open() as snapshot, path.open("wb") as out:
                snapshot.write(out)
            exported = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            with path.open("rb") as stream, atomic():
                transfer.load(transfer.ExportFile(stream), replace=True)
            imported = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert db.session.scalar(select(func.count()).select_from(User)) == 12_000
    size = path.stat().st_size
    assert size > 8_000_000
    assert exported < size / 2 and imported < size / 2, (exported, imported, size)
