"""device presence, bulletins, bridge outbox and state, daily aggregates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('bridge_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('bridge_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bridge_outbox_delivered_at'), ['delivered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bridge_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('bridge_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=1000), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('daily_airtime',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'commune_code', 'source', 'topic', 'language', 'priority')
    )
    op.create_table('daily_commune',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=False),
    sa.Column('played', sa.Integer(), nullable=False),
    sa.Column('missed', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('preempted', sa.Integer(), nullable=False),
    sa.Column('devices', sa.Integer(), nullable=False),
    sa.Column('uptime_ratio', sa.Double(), nullable=True),
    sa.Column('emergencies', sa.Integer(), nullable=False),
    sa.Column('emergency_devices', sa.Integer(), nullable=False),
    sa.Column('emergency_reached', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', 'commune_code')
    )
    op.create_table('device_presence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('device_presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_presence_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_presence_device_id'), ['device_id'], unique=False)

    op.create_table('bulletins',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('audio_url', sa.String(length=1000), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('agency', sa.String(length=300), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('target_areas', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('emergency_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['audio_assets.id'], ),
    sa.ForeignKeyConstraint(['emergency_id'], ['emergencies.id'], ),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletins_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletins_status'), ['status'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletins_status'))
        batch_op.drop_index(batch_op.f('ix_bulletins_received_at'))

    op.drop_table('bulletins')
    with op.batch_alter_table('device_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_presence_device_id'))
        batch_op.drop_index(batch_op.f('ix_device_presence_at'))

    op.drop_table('device_presence')
    op.drop_table('daily_commune')
    op.drop_table('daily_airtime')
    op.drop_table('bridge_state')
    with op.batch_alter_table('bridge_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bridge_outbox_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_bridge_outbox_delivered_at'))

    op.drop_table('bridge_outbox')

