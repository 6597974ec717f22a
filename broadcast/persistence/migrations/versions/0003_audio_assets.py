"""audio assets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audio_assets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('area_code', sa.String(length=16), nullable=True),
    sa.Column('profile', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('loudness', sa.JSON(), nullable=False),
    sa.Column('silences', sa.JSON(), nullable=False),
    sa.Column('tts_text', sa.Text(), nullable=True),
    sa.Column('voice', sa.String(length=32), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audio_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audio_assets_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_audio_assets_original_sha256'), ['original_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_audio_assets_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_audio_assets_status'), ['status'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('audio_assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audio_assets_status'))
        batch_op.drop_index(batch_op.f('ix_audio_assets_sha256'))
        batch_op.drop_index(batch_op.f('ix_audio_assets_original_sha256'))
        batch_op.drop_index(batch_op.f('ix_audio_assets_area_code'))

    op.drop_table('audio_assets')

