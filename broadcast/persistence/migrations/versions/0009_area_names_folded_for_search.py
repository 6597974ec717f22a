"""area names folded for search

areas.name_folded: the name in lower case without Vietnamese diacritics (domain/text.py `fold`), so
GET /areas?q=chau son finds "Châu Sơn" with one LIKE on both SQLite and PostgreSQL. Filled here for the areas
already seeded; the area repository keeps it in step with the name afterwards.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from broadcast.domain.text import fold

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_folded', sa.String(length=200), nullable=False, server_default=''))
    connection = op.get_bind()
    areas = sa.table('areas', sa.column('code', sa.String), sa.column('name', sa.String),
                     sa.column('name_folded', sa.String))
    rows = [{"area_code": code, "folded": fold(name)}
            for code, name in connection.execute(sa.select(areas.c.code, areas.c.name))]
    if rows:
        connection.execute(areas.update().where(areas.c.code == sa.bindparam("area_code"))
                           .values(name_folded=sa.bindparam("folded")), rows)


def downgrade() -> None:
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_column('name_folded')
