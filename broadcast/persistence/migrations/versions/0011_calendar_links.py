"""calendar links

calendar_links: one private calendar address per user (/lich/{token}.ics), for phone calendars that cannot send an
Authorization header. Only the SHA-256 of the token is stored; the row keeps the account's token epoch at creation,
so disabling the account or changing its password ends the address as it ends the account's sessions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_links',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('area_code', sa.String(length=16), nullable=False),
        sa.Column('token_epoch', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['area_code'], ['areas.code']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
        sa.UniqueConstraint('token_hash'),
    )


def downgrade() -> None:
    op.drop_table('calendar_links')
