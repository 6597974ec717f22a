"""live broadcast sessions

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'live_sessions',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('priority', sa.String(16), nullable=False),
        sa.Column('area_code', sa.String(16), sa.ForeignKey('areas.code'), nullable=False),
        sa.Column('targets', sa.JSON(), nullable=False),
        sa.Column('mount', sa.String(200), nullable=False, unique=True),
        sa.Column('stream_url', sa.String(500), nullable=False),
        sa.Column('created_by', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cmd_id', sa.String(128), nullable=True),
        sa.Column('stop_cmd_id', sa.String(128), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(32), nullable=True),
        sa.Column('bytes_received', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('recording_id', sa.Integer(), sa.ForeignKey('audio_assets.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('recording_error', sa.String(500), nullable=True),
    )
    for column in ('status', 'area_code', 'cmd_id'):
        op.create_index(f'ix_live_sessions_{column}', 'live_sessions', [column])


def downgrade() -> None:
    for column in ('status', 'area_code', 'cmd_id'):
        op.drop_index(f'ix_live_sessions_{column}', 'live_sessions')
    op.drop_table('live_sessions')
