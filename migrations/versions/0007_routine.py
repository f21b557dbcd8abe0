"""the organiser's routine (#13): archived groups, folded member search keys, meeting reminders
and each meeting's shareable link

Revision ID: 0007_routine
Revises: 0006_trust
Create Date: 2026-12-02 16:30:00

"""

import secrets
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0007_routine"
down_revision = "0006_trust"
branch_labels = None
depends_on = None

_LETTERS = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})


def _fold(*parts):
    # eventtrack.models.search.fold as of this revision (a migration keeps its own copy).
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_LETTERS)
    return " ".join(text.split())


def upgrade():
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(
            sa.Column("search_key", sa.String(length=600), nullable=False, server_default="")
        )
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("reminder_minutes", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("reminders_queued_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("invite_token", sa.String(length=64), nullable=True))

    connection = op.get_bind()
    # Each member's key: what the organisers see (the typed name until they take part, then
    # their own name and company) and the email.
    rows = connection.execute(
        sa.text(
            "SELECT memberships.id, memberships.typed_name, memberships.engaged_at,"
            " users.name, users.email, users.company"
            " FROM memberships JOIN users ON users.id = memberships.user_id"
        )
    ).all()
    for mid, typed, engaged, name, email, company in rows:
        key = _fold(name, email, company) if engaged else _fold(typed, email)
        connection.execute(
            sa.text("UPDATE memberships SET search_key = :key WHERE id = :id"),
            {"key": key, "id": mid},
        )
    meeting_ids = connection.execute(sa.text("SELECT id FROM meetings")).scalars().all()
    for meeting_id in meeting_ids:
        connection.execute(
            sa.text(
                "UPDATE meetings SET invite_token = :token, reminder_minutes = NULL"
                " WHERE id = :id"
            ),
            {"token": secrets.token_urlsafe(18), "id": meeting_id},
        )

    with op.batch_alter_table("meetings") as batch:
        batch.alter_column("invite_token", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(batch.f("uq_meetings_invite_token"), ["invite_token"])
        batch.create_check_constraint(
            "reminder", "reminder_minutes IS NULL OR reminder_minutes > 0"
        )


def downgrade():
    with op.batch_alter_table("meetings") as batch:
        batch.drop_constraint(batch.f("ck_meetings_reminder"), type_="check")
        batch.drop_constraint(batch.f("uq_meetings_invite_token"), type_="unique")
        batch.drop_column("invite_token")
        batch.drop_column("reminders_queued_at")
        batch.drop_column("reminder_minutes")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("search_key")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("archived_at")
