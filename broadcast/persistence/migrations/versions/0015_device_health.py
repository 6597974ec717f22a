"""device health: current values and a downsampled history

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'device_health',
        sa.Column('device_id', sa.String(64), sa.ForeignKey('devices.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('temperature_c', sa.Integer(), nullable=True),
        sa.Column('supply_mv', sa.Integer(), nullable=True),
        sa.Column('amplifier', sa.String(8), nullable=True),
        sa.Column('speaker_line', sa.String(8), nullable=True),
        sa.Column('rssi_dbm', sa.Integer(), nullable=True),
        sa.Column('network', sa.String(16), nullable=True),
        sa.Column('uptime_s', sa.Integer(), nullable=True),
        sa.Column('power', sa.String(4), nullable=True),
    )
    op.create_table(
        'device_health_samples',
        sa.Column('device_id', sa.String(64), sa.ForeignKey('devices.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('bucket', sa.DateTime(timezone=True), primary_key=True),
        sa.Column('samples', sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in (
            'temperature_min', 'temperature_max', 'temperature_last', 'supply_min', 'supply_max', 'supply_last',
            'rssi_last')),
        sa.Column('amplifier_faults', sa.Integer(), nullable=False),
        sa.Column('line_faults', sa.Integer(), nullable=False),
        sa.Column('power_off', sa.Integer(), nullable=False),
    )
    op.create_index('ix_device_health_samples_bucket', 'device_health_samples', ['bucket'])


def downgrade() -> None:
    op.drop_index('ix_device_health_samples_bucket', table_name='device_health_samples')
    op.drop_table('device_health_samples')
    op.drop_table('device_health')
