"""one emergency per external alert and area

The same CAP sender and identifier may reach two provinces, each sending it for its own areas: the idempotency
key becomes (source, external_id, area_code), so a second province's alert is its own and is never answered
with the first province's emergency (security review #11, finding 15).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_emergency_external', type_='unique')
        batch_op.create_unique_constraint('uq_emergency_external_area', ['source', 'external_id', 'area_code'])


def downgrade() -> None:
    # Fails if two areas imported the same alert meanwhile: such rows must be merged by hand first.
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_emergency_external_area', type_='unique')
        batch_op.create_unique_constraint('uq_emergency_external', ['source', 'external_id'])
