"""`flask db upgrade` from an empty database builds exactly the models' schema (no drift)."""

import secrets
from datetime import timedelta

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, create_engine, select, text
from werkzeug.security import generate_password_hash

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.models import Connection, Meeting, Registration, User, utcnow
from eventtrack.services import access, accounts, checkin, connections, followups, sessions
from eventtrack.services.demo import load_demo
from eventtrack.transaction import atomic
from tests import factories


@pytest.fixture
def empty_database_app(app_config, database_url, tmp_path):
    """An app on an empty database of the suite's kind: a new SQLite file, or a new schema."""
    if not database_url.startswith("postgresql"):
        app = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}"})
        with app.app_context():
            yield app
            db.engine.dispose()
        return
    schema = f"drift_{secrets.token_hex(4)}"
    admin = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in database_url else "?"
    url = f"{database_url}{sep}options=-csearch_path%3D{schema}"
    app = create_app({**app_config, "DATABASE_URL": url})
    try:
        with app.app_context():
            yield app
            db.engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database_app):
    flask_migrate.upgrade()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
        tables = set(db.inspect(conn).get_table_names())
    assert diff == []
    assert {"users", "groups", "meetings", "registrations", "outbox_messages"} <= tables
    assert {"checkin_events", "connect_codes"} <= tables


def test_upgrade_from_empty_keeps_every_check_constraint(empty_database_app):
    # Alembic's comparison above leaves CHECK constraints out, and on SQLite a migration
    # that adds one rebuilds the whole table: every one of the models' must be there.
    flask_migrate.upgrade()
    inspector = db.inspect(db.engine)
    for table in db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found == wanted, table.name


def test_downgrade_to_empty_and_up_again(empty_database_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    with db.engine.connect() as conn:
        assert set(db.inspect(conn).get_table_names()) <= {"alembic_version"}
    flask_migrate.upgrade()


def _row_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: conn.scalar(text(f"SELECT count(*) FROM {t.name}"))  # noqa: S608
            for t in db.metadata.sorted_tables
        }


def _some_of_everything(now):
    """The demo, and a row in the tables it leaves empty, each through its service."""
    organiser = load_demo(now)
    done = db.session.scalar(
        select(Registration).where(Registration.checked_in_at.is_not(None)).limit(1)
    )
    with atomic():
        connections.code_for(done, now)
        followups.set_goal(done.meeting, done.user, "Call two people I met", now)
        met = db.session.scalar(select(Connection).limit(1))
        owner = db.session.get(User, met.user_a_id)
        meeting = db.session.get(Meeting, met.meeting_id)
        followups.set_state(meeting, owner, met.user_b_id, "done", now)
    fresh = db.session.scalar(
        select(Registration).where(Registration.checked_in_at.is_(None)).limit(1)
    )
    checkin.check_in_registration(fresh, organiser, now)
    factories.api_token(organiser, now)
    with atomic():
        accounts.request_login_link(organiser.email, now)
        sessions.start(organiser, now)
        accounts.request_signup("newcomer@example.com", "Nia", "a long password", now)


# Tables that came with a later migration than the one a test goes down to: a downgrade
# drops them, and their rows with them, by design.
CREATED_BY_0006 = {"auth_sessions", "signup_links"}


def test_migrating_a_database_with_data_keeps_every_row(empty_database_app):
    # On SQLite a migration that rebuilds a table (batch mode) drops the old one: with foreign
    # keys on, that would cascade into every table that refers to it (check-in events, connect
    # codes, follow-ups), so rows must be counted, not only the schema compared.
    flask_migrate.upgrade()
    _some_of_everything(utcnow())
    db.session.remove()
    before = _row_counts()
    assert all(before.values()), before

    flask_migrate.downgrade(revision="0004_followups")
    flask_migrate.upgrade()

    assert _row_counts() == {**before, **dict.fromkeys(CREATED_BY_0006, 0)}
    if db.engine.dialect.name == "sqlite":  # and the app's connections enforce them again
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_to_0006_keeps_accounts_passes_and_what_organisers_saw(empty_database_app):
    """Organisers keep their accounts, members their pass links (now narrowed), and the
    organisers of a group keep seeing the members they saw before."""
    flask_migrate.upgrade(revision="0005_undo_checkin")
    now = utcnow()
    at = {"now": now.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else now}
    soon = {"soon": at["now"] + timedelta(days=7), "end": at["now"] + timedelta(days=7, hours=2)}
    pw_hash = generate_password_hash("an organiser's password", method="scrypt")
    statements = [
        (
            "INSERT INTO users (id, email, name, password_hash, headline, company, interests, asks,"
            " offers, linkedin_url, phone, share_contact, followup_emails, created_at) VALUES"
            " (1, 'o@example.com', 'Olga', :pw, '', '', '', '', '', '', '', false, true, :now),"
            " (2, 'm@example.com', 'Mo Member', NULL, '', 'Acme', '', '', '', '', '', false, true,"
            " :now)",
            {"pw": pw_hash, **at},
        ),
        (
            "INSERT INTO groups (id, name, description, default_timezone, created_at)"
            " VALUES (1, 'Circle', '', 'UTC', :now)",
            at,
        ),
        (
            "INSERT INTO memberships (id, group_id, user_id, role, joined_at) VALUES"
            " (1, 1, 1, 'organiser', :now), (2, 1, 2, 'member', :now)",
            at,
        ),
        (
            "INSERT INTO meetings (id, group_id, title, description, venue, starts_at, ends_at,"
            " timezone, checkin_opens_at, checkin_closes_at, status, followup_delay_minutes,"
            " created_at) VALUES (1, 1, 'Next', '', '', :soon, :end, 'UTC', :soon, :end,"
            " 'scheduled', 120, :now)",
            {**at, **soon},
        ),
        (
            "INSERT INTO registrations (id, meeting_id, user_id, status, pass_token, created_at,"
            " status_changed_at) VALUES (1, 1, 2, 'going', 'the-old-pass-token', :now, :now)",
            at,
        ),
    ]
    with db.engine.begin() as conn:
        for sql, params in statements:
            conn.execute(text(sql), params)

    flask_migrate.upgrade()

    assert accounts.authenticate("o@example.com", "an organiser's password").name == "Olga"
    assert access.registration_by_pass("the-old-pass-token").user_id == 2
    db.session.remove()  # give the connection back before the fixture drops the schema
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, typed_name, engaged_at FROM memberships"))
        seen = {
            user_id: (typed_name, engaged_at is not None)
            for user_id, typed_name, engaged_at in rows
        }
    assert seen == {1: ("Olga", True), 2: ("Mo Member", True)}


def test_check_constraints_built_from_the_vocabularies_match_the_migrations(
    empty_database_app,
):
    """The models build their CHECK texts from ``models.vocabularies``; the migrations wrote
    them out by hand. The same words, or a migration is owed."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL rewrites CHECK text (= ANY (ARRAY[…])): compared on SQLite")
    flask_migrate.upgrade()
    inspector = db.inspect(db.engine)
    for table in db.metadata.sorted_tables:
        wanted = {
            c.name: str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)
        }
        found = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
        assert found == wanted, table.name
