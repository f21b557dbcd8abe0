"""follow-ups: per-person follow-up state and promises, goals

Revision ID: 0004_followups
Revises: 0003_connect
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_followups'
down_revision = '0003_connect'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', sa.Date(), nullable=True),
    sa.Column('promise', sa.String(length=300), nullable=False),
    sa.Column('promise_due', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('todo', 'done', 'snoozed')", name=op.f('ck_followups_state')),
    sa.CheckConstraint('owner_id <> other_id', name=op.f('ck_followups_not_self')),
    sa.CheckConstraint("state <> 'done' OR done_at IS NOT NULL", name=op.f('ck_followups_done_has_date')),
    sa.CheckConstraint("state <> 'snoozed' OR snoozed_until IS NOT NULL", name=op.f('ck_followups_snoozed_has_date')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_followups_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_followups_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_id'], ['users.id'], name=op.f('fk_followups_other_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups')),
    sa.UniqueConstraint('meeting_id', 'owner_id', 'other_id', name=op.f('uq_followups_meeting_id_owner_id_other_id'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_owner_id'), ['owner_id'], unique=False)

    op.create_table('goals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at_meeting_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('done', 'not_yet', 'dropped')", name=op.f('ck_goals_outcome')),
    sa.CheckConstraint('outcome IS NULL OR answered_at IS NOT NULL', name=op.f('ck_goals_answered_has_date')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_goals_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_goals_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['answered_at_meeting_id'], ['meetings.id'], name=op.f('fk_goals_answered_at_meeting_id_meetings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goals')),
    sa.UniqueConstraint('user_id', 'meeting_id', name=op.f('uq_goals_user_id_meeting_id'))
    )
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goals_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goals_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goals_user_id'))
        batch_op.drop_index(batch_op.f('ix_goals_meeting_id'))
    op.drop_table('goals')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_owner_id'))
    op.drop_table('followups')
