"""webhooks, the notification outbox, and users' e-mail addresses

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email', sa.String(254), nullable=True))
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('url', sa.String(500), nullable=False),
        sa.Column('secret', sa.String(200), nullable=False),
        sa.Column('area_code', sa.String(16), sa.ForeignKey('areas.code'), nullable=False),
        sa.Column('causes', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_webhooks_area_code', 'webhooks', ['area_code'])
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('channel', sa.String(8), nullable=False),
        sa.Column('recipient', sa.String(254), nullable=False),
        sa.Column('event_id', sa.String(64), nullable=False),
        sa.Column('subject', sa.String(300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(500), nullable=True),
    )
    op.create_index('ix_notifications_pending', 'notifications', ['sent_at', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_notifications_pending', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('ix_webhooks_area_code', table_name='webhooks')
    op.drop_table('webhooks')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('email')
