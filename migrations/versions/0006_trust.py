"""trust (#11): server-side sign-in sessions, sign-up links that prove the address, and what
an organiser typed for a member until that member takes part

Revision ID: 0006_trust
Revises: 0005_undo_checkin
Create Date: 2026-12-02 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_trust"
down_revision = "0005_undo_checkin"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_auth_sessions_key_hash")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)
    op.create_table(
        "signup_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_links_token_hash")),
    )
    op.create_index(op.f("ix_signup_links_email"), "signup_links", ["email"], unique=False)
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("typed_name", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("engaged_at", sa.DateTime(timezone=True), nullable=True))
    # Memberships from before this release: their organisers have seen these profiles already,
    # so nothing new is revealed by keeping them visible.
    op.execute(
        "UPDATE memberships SET engaged_at = joined_at,"
        " typed_name = (SELECT users.name FROM users WHERE users.id = memberships.user_id)"
    )


def downgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("engaged_at")
        batch_op.drop_column("typed_name")
    op.drop_index(op.f("ix_signup_links_email"), table_name="signup_links")
    op.drop_table("signup_links")
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
