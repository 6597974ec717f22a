"""pronunciations

pronunciations: the administrators' readings of abbreviations for text-to-speech (UBND -> "Ủy ban nhân dân"). The
built-in defaults stay in the code (audio_library/pronunciations.py); a row here adds a term or replaces a default
one, so better defaults reach every installation with an upgrade and an administrator's choice is never lost.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pronunciations',
        sa.Column('term', sa.String(length=40), nullable=False),
        sa.Column('spoken', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('term'),
    )


def downgrade() -> None:
    op.drop_table('pronunciations')
