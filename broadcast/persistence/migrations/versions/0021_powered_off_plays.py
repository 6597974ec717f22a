"""daily figures count plays missed while the amplifier was switched off apart from misses

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('daily_commune') as batch:
        batch.add_column(sa.Column('powered_off', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('daily_commune') as batch:
        batch.drop_column('powered_off')
