"""政企双向评价: the enterprise's rating of its call's handling and each department's rating of the
enterprise's cooperation (service_whistle_ratings; one per rater and call, never changed)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 11:40:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_whistle_ratings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('whistle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('direction', sa.String(length=12), nullable=False),
    sa.Column('rater_key', sa.String(length=30), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.Column('recorded_by_person_id', sa.Integer(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['service_enterprises.id'],
                            name=op.f('fk_service_whistle_ratings_enterprise_id_service_enterprises')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_service_whistle_ratings_unit_id_units')),
    sa.ForeignKeyConstraint(['whistle_id'], ['service_whistles.id'],
                            name=op.f('fk_service_whistle_ratings_whistle_id_service_whistles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_whistle_ratings')),
    sa.UniqueConstraint('whistle_id', 'rater_key', name=op.f('uq_service_whistle_ratings_whistle_id'))
    )
    with op.batch_alter_table('service_whistle_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_whistle_ratings_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_whistle_ratings_enterprise_id'), ['enterprise_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_service_whistle_ratings_rated_at'), ['rated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_whistle_ratings_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_whistle_ratings_whistle_id'), ['whistle_id'], unique=False)


def downgrade() -> None:
    op.drop_table('service_whistle_ratings')
