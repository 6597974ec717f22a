"""one emergency per external alert

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_emergency_external', ['source', 'external_id'])




def downgrade() -> None:

    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_emergency_external', type_='unique')


