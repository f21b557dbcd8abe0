"""Backups as docs/deploy.md takes and restores them: ``deploy/backup.sh`` (pg_dump) on a
database filled by ``flask --app eventtrack demo``, the guide's restore commands into a fresh
database, then every row of every table compared. PostgreSQL only (the guide's production
database); the SQLite half of the suite skips it and says so."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from .test_deploy_docs import (
    PG_URL,
    as_here,
    doc_commands,
    drop_pg,
    libpq_env,
    pg_name,
    pg_url,
    run,
    write_env_file,
)

if not PG_URL:
    pytest.skip(
        "backups are pg_dump's: runs on the PostgreSQL half of the suite "
        "(EVENTTRACK_TEST_DATABASE_URL), which `make test` runs too",
        allow_module_level=True,
    )


def rows_of_every_table(url: str) -> dict[str, list[str]]:
    """Each table of the public schema: its rows as JSON text, sorted."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
        return {
            name: sorted(
                row for (row,) in conn.execute(f'SELECT row_to_json(t)::text FROM "{name}" t')
            )
            for (name,) in tables
        }


def owners(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        return {owner for (owner,) in rows}


@pytest.fixture
def names():
    """The role (and its database) and the database restored into, dropped afterwards."""
    owner, restored = pg_name("backup"), pg_name("restored")
    yield owner, restored
    drop_pg(database=restored)
    drop_pg(database=owner, role=owner)


def test_a_nightly_dump_restores_into_a_fresh_database_with_every_row(names, tmp_path):
    owner, restored = names
    admin = libpq_env()
    for command in doc_commands("database"):
        run(as_here(command, (r"\beventtrack\b", owner)), env=admin)
    source = pg_url(owner, user=owner)
    env_file = write_env_file(tmp_path / "eventtrack.env", source)
    app_env = dict(os.environ, EVENTTRACK_ENV_FILE=str(env_file))
    cli = as_here("/srv/eventtrack/deploy/eventtrack-cli")
    run(f"{cli} db upgrade && {cli} demo", env=app_env)

    # Dumps older than the 14 days kept go; others stay.
    backups = tmp_path / "backups"
    backups.mkdir()
    old, other = backups / f"{owner}-20200101T000000Z.dump", backups / "notes.txt"
    old.write_text("old")
    other.write_text("keep")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    os.utime(other, (month_ago, month_ago))

    [backup] = doc_commands("backup")
    done = run(
        as_here(backup, ("/var/backups/eventtrack", str(backups)), (r"(?<= )eventtrack\b", owner)),
        env=admin,
    )
    dump = Path(done.stdout.strip())
    assert dump.parent == backups and re.fullmatch(rf"{owner}-\d{{8}}T\d{{6}}Z\.dump", dump.name)
    assert dump.stat().st_mode & 0o077 == 0  # the database's content: nobody else reads it
    assert sorted(p.name for p in backups.iterdir()) == sorted([dump.name, "notes.txt"])

    for command in doc_commands("restore"):
        run(
            as_here(
                command,
                (r"/var/backups/\S+\.dump", str(dump)),
                (r"\beventtrack_restored\b", restored),
                (r"(?<==)eventtrack\b", owner),
            ),
            env=admin,
        )
    copy = pg_url(restored, user=owner)

    before, after = rows_of_every_table(source), rows_of_every_table(copy)
    assert after == before
    for table in ("users", "meetings", "registrations", "connections", "outbox_messages"):
        assert before.get(table), f"the demo left {table} empty: nothing compared"
    assert before["alembic_version"]  # at the same migration: the app serves it as it is
    assert owners(copy) == {owner}  # the app's role owns what it restored, as before

    # The guide's check of a restore: the app's own command, pointed at the copy.
    [check] = doc_commands("restore-check")
    status = run(as_here(check, (r"postgresql://\S+", copy)), env=app_env).stdout
    words = status.split()
    counts = dict(zip(words[::2], map(int, words[1::2]), strict=True))
    assert list(counts) == ["pending", "retrying", "sending", "sent", "failed"]
    mail = [json.loads(row) for row in before["outbox_messages"]]
    assert sum(counts.values()) == len(mail)
    assert counts["pending"] + counts["retrying"] == sum(m["status"] == "pending" for m in mail)
