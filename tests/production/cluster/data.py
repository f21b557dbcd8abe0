"""The cluster's database: made once per test run, seeded with the project's models and
services, and read back as committed."""

import atexit
import os
import secrets
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from .base import BIN, PG_URL, ROOT

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
