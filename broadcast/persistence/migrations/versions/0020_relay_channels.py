"""relay channels catalogue

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'relay_channels',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('name', sa.String(100), nullable=False, unique=True),
        sa.Column('url', sa.String(500), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('created_by', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('probe_checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('probe_reachable', sa.Boolean(), nullable=True),
        sa.Column('probe_codec', sa.String(32), nullable=True),
        sa.Column('probe_bitrate_kbps', sa.Integer(), nullable=True),
        sa.Column('probe_error', sa.String(500), nullable=True),
    )
    with op.batch_alter_table('programmes') as batch:
        batch.add_column(sa.Column('relay_channel_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_programmes_relay_channel_id', 'relay_channels', ['relay_channel_id'], ['id'])
        batch.create_index('ix_programmes_relay_channel_id', ['relay_channel_id'])


def downgrade() -> None:
    with op.batch_alter_table('programmes') as batch:
        batch.drop_index('ix_programmes_relay_channel_id')
        batch.drop_constraint('fk_programmes_relay_channel_id', type_='foreignkey')
        batch.drop_column('relay_channel_id')
    op.drop_table('relay_channels')
