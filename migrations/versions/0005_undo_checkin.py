"""registrations remember what a check-in moved them from, so that undo puts it back; user
ids are never reused on SQLite

Revision ID: 0005_undo_checkin
Revises: 0004_followups
Create Date: 2026-12-01 07:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_undo_checkin"
down_revision = "0004_followups"
branch_labels = None
depends_on = None

CHECK = (
    "(status_before_checkin IS NULL AND status_changed_before_checkin IS NULL) OR "
    "(status_before_checkin IN ('waitlist', 'cancelled') "
    "AND status_changed_before_checkin IS NOT NULL AND checked_in_at IS NOT NULL)"
)


def upgrade():
    # Batch mode: on SQLite a table constraint can only be added by rebuilding the table.
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_before_checkin", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("status_changed_before_checkin", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_registrations_status_before_checkin"), sa.text(CHECK)
        )
    if op.get_bind().dialect.name == "sqlite":
        # AUTOINCREMENT is part of the table's definition: a rebuild.
        with op.batch_alter_table(
            "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "users", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_registrations_status_before_checkin"), type_="check")
        batch_op.drop_column("status_changed_before_checkin")
        batch_op.drop_column("status_before_checkin")
