"""alerts and per-area alert thresholds

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

UNRESOLVED = sa.text("state != 'resolved'")


def upgrade() -> None:
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('device_id', sa.String(64), sa.ForeignKey('devices.id', ondelete='CASCADE'), nullable=False),
        sa.Column('commune_code', sa.String(16), sa.ForeignKey('areas.code'), nullable=False),
        sa.Column('cause', sa.String(32), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('clear_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('acknowledged_by', sa.String(64), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('note', sa.String(1000), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    )
    for column in ('device_id', 'commune_code', 'cause', 'state'):
        op.create_index(f'ix_alerts_{column}', 'alerts', [column])
    op.create_index('uq_alert_unresolved', 'alerts', ['device_id', 'cause'], unique=True,
                    sqlite_where=UNRESOLVED, postgresql_where=UNRESOLVED)
    op.create_table(
        'alert_thresholds',
        sa.Column('area_code', sa.String(16), sa.ForeignKey('areas.code'), primary_key=True),
        sa.Column('overrides', sa.JSON(), nullable=False),
        sa.Column('updated_by', sa.String(64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('alert_thresholds')
    op.drop_index('uq_alert_unresolved', table_name='alerts')
    for column in ('device_id', 'commune_code', 'cause', 'state'):
        op.drop_index(f'ix_alerts_{column}', table_name='alerts')
    op.drop_table('alerts')
