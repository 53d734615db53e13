"""the town (issue #20), areas that change: validity dates on areas and units, the origin area of a
re-homed event, and the log of area changes

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 11:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # plain ALTER TABLE … ADD COLUMN on both engines (no foreign keys, so SQLite need not copy the tables)
    with op.batch_alter_table('areas') as batch:
        batch.add_column(sa.Column('valid_from', UTC_TIME, nullable=True))
        batch.add_column(sa.Column('valid_to', UTC_TIME, nullable=True))
        batch.add_column(sa.Column('successor_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('units') as batch:
        batch.add_column(sa.Column('valid_from', UTC_TIME, nullable=True))
        batch.add_column(sa.Column('valid_to', UTC_TIME, nullable=True))
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('origin_area_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('origin_area_path', sa.String(length=100), nullable=True))
    op.create_table('area_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('effective_at', UTC_TIME, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area_changes')),
    )
    op.create_index(op.f('ix_area_changes_effective_at'), 'area_changes', ['effective_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_area_changes_effective_at'), table_name='area_changes')
    op.drop_table('area_changes')
    # ALTER TABLE … DROP COLUMN on both engines (SQLite ≥ 3.35): a batch copy of ``areas`` would have to drop
    # a table that other tables' foreign keys name
    for table, column in (('events', 'origin_area_path'), ('events', 'origin_area_id'), ('units', 'valid_to'),
                          ('units', 'valid_from'), ('areas', 'successor_id'), ('areas', 'valid_to'),
                          ('areas', 'valid_from')):
        op.drop_column(table, column)
