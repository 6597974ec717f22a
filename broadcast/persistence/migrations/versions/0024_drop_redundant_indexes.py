"""drop the indexes that repeat the leading column of a unique key

Each of these tables has a unique key that starts with the indexed column, so the key already serves every lookup
(and the foreign key's cascades) by that column; the extra index only cost writes. Two of them are on the inbox's
hot path: one more index insertion per stored ack (device_acks) and per play-log row (play_log).
tests/unit/persistence/test_no_redundant_indexes.py keeps new ones out.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# table -> (index, its column)
REDUNDANT = {
    'device_acks': ('ix_device_acks_device_id', 'device_id'),  # uq_device_ack
    'play_log': ('ix_play_log_device_id', 'device_id'),  # uq_play_log_outcome
    'user_grants': ('ix_user_grants_user_id', 'user_id'),  # uq_grant
    'zones': ('ix_zones_commune_code', 'commune_code'),  # uq_zone_name_per_commune
}


def upgrade() -> None:
    for table, (index, _column) in REDUNDANT.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_index(index)


def downgrade() -> None:
    for table, (index, column) in REDUNDANT.items():
        with op.batch_alter_table(table) as batch:
            batch.create_index(index, [column], unique=False)
