"""check-in events: who checked whom in, when, how; unique client nonces (issue #3)

Revision ID: 0002_checkin
Revises: b0fef1faf2e1
Create Date: 2026-11-23 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_checkin'
down_revision = 'b0fef1faf2e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('checkin_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('how', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('checkin', 'undo')", name=op.f('ck_checkin_events_action')),
    sa.CheckConstraint("how IN ('pass_scan', 'kiosk', 'poster', 'manual', 'walk_in')", name=op.f('ck_checkin_events_how')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_checkin_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_checkin_events_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkin_events_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_events')),
    sa.UniqueConstraint('nonce', name=op.f('uq_checkin_events_nonce'))
    )
    with op.batch_alter_table('checkin_events', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_events_meeting_feed', ['meeting_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_events_registration_id'), ['registration_id'], unique=False)


def downgrade():
    with op.batch_alter_table('checkin_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_events_registration_id'))
        batch_op.drop_index('ix_checkin_events_meeting_feed')

    op.drop_table('checkin_events')
