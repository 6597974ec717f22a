"""play-log rows of a live broadcast name their session

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('play_log') as batch:
        batch.add_column(sa.Column('live_session_id', sa.Integer(), nullable=True))
        batch.create_index('ix_play_log_live_session_id', ['live_session_id'])


def downgrade() -> None:
    with op.batch_alter_table('play_log') as batch:
        batch.drop_index('ix_play_log_live_session_id')
        batch.drop_column('live_session_id')
