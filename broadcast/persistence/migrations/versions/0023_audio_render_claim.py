"""audio assets carry the claim of the process rendering them

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audio_assets') as batch:
        batch.add_column(sa.Column('render_claimed_by', sa.String(200), nullable=True))
        batch.add_column(sa.Column('render_claimed_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audio_assets') as batch:
        batch.drop_column('render_claimed_until')
        batch.drop_column('render_claimed_by')
