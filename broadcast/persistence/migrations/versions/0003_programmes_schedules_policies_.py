"""programmes, schedules, policies, emergencies, play log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('play_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('commune_code', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=128), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('emergency_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('planned_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('planned_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'item_id', 'outcome', name='uq_play_log_outcome')
    )
    with op.batch_alter_table('play_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_play_log_commune_code'), ['commune_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_emergency_id'), ['emergency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_planned_start'), ['planned_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_recorded_at'), ['recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_play_log_schedule_id'), ['schedule_id'], unique=False)

    op.create_table('area_policies',
    sa.Column('area_code', sa.String(length=16), nullable=False),
    sa.Column('windows', sa.JSON(), nullable=True),
    sa.Column('max_minutes_per_day', sa.Integer(), nullable=True),
    sa.Column('weekdays', sa.JSON(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.PrimaryKeyConstraint('area_code')
    )
    op.create_table('programmes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('legal_refs', sa.JSON(), nullable=False),
    sa.Column('stream_url', sa.String(length=500), nullable=True),
    sa.Column('stream_duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('area_code', sa.String(length=16), nullable=False),
    sa.Column('bulletin_id', sa.String(length=128), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programmes_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_programmes_bulletin_id'), ['bulletin_id'], unique=False)

    op.create_table('emergencies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('audio_id', sa.Integer(), nullable=True),
    sa.Column('stream_url', sa.String(length=500), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('cmd_id', sa.String(length=128), nullable=True),
    sa.Column('stop_cmd_id', sa.String(length=128), nullable=True),
    sa.Column('test_only', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('area_code', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.ForeignKeyConstraint(['audio_id'], ['audio_assets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergencies_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergencies_cmd_id'), ['cmd_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergencies_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergencies_status'), ['status'], unique=False)

    op.create_table('programme_items',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['audio_assets.id'], ),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('programme_id', 'position')
    )
    with op.batch_alter_table('programme_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_items_asset_id'), ['asset_id'], unique=False)

    op.create_table('schedules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('start_local', sa.String(length=19), nullable=False),
    sa.Column('rrule', sa.String(length=500), nullable=True),
    sa.Column('exdates', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('volume', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('approver', sa.String(length=64), nullable=True),
    sa.Column('rejection_reason', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedules_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedules_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedules_status'), ['status'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedules_status'))
        batch_op.drop_index(batch_op.f('ix_schedules_programme_id'))
        batch_op.drop_index(batch_op.f('ix_schedules_area_code'))

    op.drop_table('schedules')
    with op.batch_alter_table('programme_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_items_asset_id'))

    op.drop_table('programme_items')
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergencies_status'))
        batch_op.drop_index(batch_op.f('ix_emergencies_external_id'))
        batch_op.drop_index(batch_op.f('ix_emergencies_cmd_id'))
        batch_op.drop_index(batch_op.f('ix_emergencies_area_code'))

    op.drop_table('emergencies')
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programmes_bulletin_id'))
        batch_op.drop_index(batch_op.f('ix_programmes_area_code'))

    op.drop_table('programmes')
    op.drop_table('area_policies')
    with op.batch_alter_table('play_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_play_log_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_play_log_recorded_at'))
        batch_op.drop_index(batch_op.f('ix_play_log_programme_id'))
        batch_op.drop_index(batch_op.f('ix_play_log_planned_start'))
        batch_op.drop_index(batch_op.f('ix_play_log_outcome'))
        batch_op.drop_index(batch_op.f('ix_play_log_emergency_id'))
        batch_op.drop_index(batch_op.f('ix_play_log_device_id'))
        batch_op.drop_index(batch_op.f('ix_play_log_commune_code'))

    op.drop_table('play_log')

