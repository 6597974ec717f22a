"""pending schedule publications: partial index, superseded versions retired

The flush used to group every version ever written to find each device's newest one; now a new version
retires the older unacknowledged ones (next_attempt_at NULL) and the flush reads a partial index of what
is still waiting.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PENDING = "received_at IS NULL AND next_attempt_at IS NOT NULL"


def upgrade() -> None:
    op.execute("UPDATE schedule_publications SET next_attempt_at = NULL "
               "WHERE received_at IS NULL AND EXISTS (SELECT 1 FROM schedule_publications AS newer "
               "WHERE newer.device_id = schedule_publications.device_id "
               "AND newer.version > schedule_publications.version)")
    with op.batch_alter_table('schedule_publications', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_publications_next_attempt_at')
        batch_op.create_index('ix_schedule_publications_pending', ['next_attempt_at'], unique=False,
                              sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade() -> None:
    with op.batch_alter_table('schedule_publications', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_publications_pending')
        batch_op.create_index('ix_schedule_publications_next_attempt_at', ['next_attempt_at'], unique=False)
