"""the company an organiser typed for a member (#13), kept on the membership like the typed name

Revision ID: 0008_members
Revises: 0007_routine
Create Date: 2026-12-02 16:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_members"
down_revision = "0007_routine"
branch_labels = None
depends_on = None


def upgrade():
    # Existing memberships get none: what was typed before was not kept apart from the account.
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(
            sa.Column("typed_company", sa.String(length=120), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("typed_company")
