"""connect codes (issue #4: who met whom)

Revision ID: 0003_connect
Revises: 0002_checkin
Create Date: 2026-11-23 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003_connect"
down_revision = "0002_checkin"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "connect_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_connect_codes_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_codes")),
        sa.UniqueConstraint("registration_id", name=op.f("uq_connect_codes_registration_id")),
        sa.UniqueConstraint("token", name=op.f("uq_connect_codes_token")),
    )


def downgrade():
    op.drop_table("connect_codes")
