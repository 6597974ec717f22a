"""programme titles folded for search

programmes.title_folded: the title in lower case without Vietnamese diacritics (domain/text.py `fold`), so the
programmes page finds "Hòa giải ở cơ sở" when an officer types "hoa giai", with one LIKE on SQLite and PostgreSQL.
Filled here for the programmes already stored; the programme repository keeps it in step with the title afterwards.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from broadcast.domain.text import fold

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_folded', sa.String(length=300), nullable=False, server_default=''))
    connection = op.get_bind()
    programmes = sa.table('programmes', sa.column('id', sa.Integer), sa.column('title', sa.String),
                          sa.column('title_folded', sa.String))
    rows = [{"programme_id": pid, "folded": fold(title)[:300]}
            for pid, title in connection.execute(sa.select(programmes.c.id, programmes.c.title))]
    if rows:
        connection.execute(programmes.update().where(programmes.c.id == sa.bindparam("programme_id"))
                           .values(title_folded=sa.bindparam("folded")), rows)


def downgrade() -> None:
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_column('title_folded')
