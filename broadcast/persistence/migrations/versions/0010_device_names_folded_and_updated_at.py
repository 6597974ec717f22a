"""device names folded for search, and when a device's registry entry last changed

devices.name_folded: the name in lower case without Vietnamese diacritics (domain/text.py `fold`), so the device
list's search finds "Cụm loa Thôn Đông" from "thon dong" with one LIKE on SQLite and PostgreSQL.
devices.updated_at: set when a device's zones change, so the compiler's change marker notices a device moved from
one village to another (the number of zone rows alone stays the same) and its schedule document lists the new zones.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from broadcast.domain.text import fold

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_folded', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    devices = sa.table('devices', sa.column('id', sa.String), sa.column('name', sa.String),
                       sa.column('name_folded', sa.String))
    rows = [{"device_id": device_id, "folded": fold(name)}
            for device_id, name in connection.execute(sa.select(devices.c.id, devices.c.name))]
    if rows:
        connection.execute(devices.update().where(devices.c.id == sa.bindparam("device_id"))
                           .values(name_folded=sa.bindparam("folded")), rows)


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('name_folded')
