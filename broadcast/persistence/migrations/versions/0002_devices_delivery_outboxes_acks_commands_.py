"""devices, delivery outboxes, acks, commands, audio assets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('commands',
    sa.Column('cmd_id', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('emergency_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('cmd_id')
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_emergency_id'), ['emergency_id'], unique=False)

    op.create_table('device_acks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('ref_kind', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.String(length=128), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'ref_kind', 'ref_id', 'stage', 'item_id', name='uq_device_ack')
    )
    with op.batch_alter_table('device_acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_acks_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_acks_received_at'), ['received_at'], unique=False)
        batch_op.create_index('ix_device_acks_ref', ['ref_kind', 'ref_id'], unique=False)

    op.create_table('audio_assets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('area_code', sa.String(length=16), nullable=True),
    sa.Column('profile', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('loudness', sa.JSON(), nullable=False),
    sa.Column('silences', sa.JSON(), nullable=False),
    sa.Column('tts_text', sa.Text(), nullable=True),
    sa.Column('voice', sa.String(length=32), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audio_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audio_assets_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_audio_assets_original_sha256'), ['original_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_audio_assets_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_audio_assets_status'), ['status'], unique=False)

    op.create_table('command_publications',
    sa.Column('cmd_id', sa.String(length=128), nullable=False),
    sa.Column('target_kind', sa.String(length=8), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cmd_id'], ['commands.cmd_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cmd_id', 'target_kind', 'target_id')
    )
    with op.batch_alter_table('command_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_command_publications_published_at'), ['published_at'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=False),
    sa.Column('vendor', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('connection', sa.String(length=16), nullable=False),
    sa.Column('mqtt_password_hash', sa.String(length=200), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('test_device', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('firmware', sa.String(length=64), nullable=True),
    sa.Column('volume', sa.Integer(), nullable=True),
    sa.Column('playing_item', sa.String(length=128), nullable=True),
    sa.Column('playing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clock_offset_ms', sa.BigInteger(), nullable=True),
    sa.Column('storage_free_bytes', sa.BigInteger(), nullable=True),
    sa.Column('reported_version', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['commune_code'], ['areas.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_commune_code'), ['commune_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_online'), ['online'], unique=False)

    op.create_table('command_deliveries',
    sa.Column('cmd_id', sa.String(length=128), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cmd_id'], ['commands.cmd_id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cmd_id', 'device_id')
    )
    op.create_table('device_zones',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zone_id'], ['zones.id'], ),
    sa.PrimaryKeyConstraint('device_id', 'zone_id')
    )
    with op.batch_alter_table('device_zones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_zones_zone_id'), ['zone_id'], unique=False)

    op.create_table('schedule_publications',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', 'version')
    )
    with op.batch_alter_table('schedule_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_publications_next_attempt_at'), ['next_attempt_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('schedule_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_publications_next_attempt_at'))

    op.drop_table('schedule_publications')
    with op.batch_alter_table('device_zones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_zones_zone_id'))

    op.drop_table('device_zones')
    op.drop_table('command_deliveries')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_online'))
        batch_op.drop_index(batch_op.f('ix_devices_commune_code'))

    op.drop_table('devices')
    with op.batch_alter_table('command_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_command_publications_published_at'))

    op.drop_table('command_publications')
    with op.batch_alter_table('audio_assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audio_assets_status'))
        batch_op.drop_index(batch_op.f('ix_audio_assets_sha256'))
        batch_op.drop_index(batch_op.f('ix_audio_assets_original_sha256'))
        batch_op.drop_index(batch_op.f('ix_audio_assets_area_code'))

    op.drop_table('audio_assets')
    with op.batch_alter_table('device_acks', schema=None) as batch_op:
        batch_op.drop_index('ix_device_acks_ref')
        batch_op.drop_index(batch_op.f('ix_device_acks_received_at'))
        batch_op.drop_index(batch_op.f('ix_device_acks_device_id'))

    op.drop_table('device_acks')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commands_emergency_id'))

    op.drop_table('commands')

