"""an index on the play log's play time

Reports and the home page select play-log rows by coalesce(planned_start, started_at, recorded_at); with no index on
that expression, one day of a province was a scan of every row ever recorded (3.65 million for a province's year:
benchmarks/bench_pages.py). Both SQLite and PostgreSQL use an expression index when the query repeats the
expression exactly.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_play_log_play_time ON play_log (coalesce(planned_start, started_at, recorded_at))")


def downgrade() -> None:
    op.drop_index('ix_play_log_play_time', table_name='play_log')
