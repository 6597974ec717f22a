"""token revocation and schedule editors (security review)

users.token_epoch: a token carries the epoch it was issued in; changing the password or disabling the account
bumps it, so every older token stops working. revoked_tokens: single tokens ended by a logout, kept until
they would have expired anyway. schedules.editors: every user who changed a schedule's content, in order,
so the four-eyes rule can refuse them as approvers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_epoch', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('editors', sa.JSON(), nullable=False, server_default='[]'))
    op.create_table(
        'revoked_tokens',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('jti'),
    )
    op.create_index('ix_revoked_tokens_expires_at', 'revoked_tokens', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_revoked_tokens_expires_at', table_name='revoked_tokens')
    op.drop_table('revoked_tokens')
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_column('editors')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_epoch')
