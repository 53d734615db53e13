"""evaluation_publications: a district's ranking of its towns for a period, published to them (赛马比拼,
issue #20), immutable

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 15:15:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluation_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('period_label', sa.String(length=30), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('scheme', sa.String(length=40), nullable=False),
    sa.Column('ranking', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('published_by', sa.String(length=100), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_evaluation_publications_area_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_publications')),
    sa.UniqueConstraint('area_id', 'period_label', name=op.f('uq_evaluation_publications_area_id')),
    )
    with op.batch_alter_table('evaluation_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_publications_area_path'), ['area_path'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evaluation_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_publications_area_path'))
    op.drop_table('evaluation_publications')
