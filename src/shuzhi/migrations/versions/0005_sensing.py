"""sensing: indicator tree (sectors, runways, sub-runways, indicators), devices, readings, latest values
and hourly rollups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('indicator_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['indicator_nodes.id'], name=op.f('fk_indicator_nodes_parent_id_indicator_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_nodes')),
    sa.UniqueConstraint('code', name=op.f('uq_indicator_nodes_code'))
    )
    with op.batch_alter_table('indicator_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_nodes_parent_id'), ['parent_id'], unique=False)

    op.create_table('reading_latest',
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('series_key', sa.String(length=60), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('indicator_id', 'series_key', name=op.f('pk_reading_latest'))
    )
    with op.batch_alter_table('reading_latest', schema=None) as batch_op:
        batch_op.create_index('ix_reading_latest_area', ['area_id'], unique=False)

    op.create_table('reading_rollups',
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('series_key', sa.String(length=60), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum', sa.Float(), nullable=False),
    sa.Column('min', sa.Float(), nullable=False),
    sa.Column('max', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('indicator_id', 'series_key', 'hour', name=op.f('pk_reading_rollups'))
    )
    with op.batch_alter_table('reading_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_reading_rollups_hour', ['hour'], unique=False)

    op.create_table('readings',
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('series_key', sa.String(length=60), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('indicator_id', 'series_key', 'at', name=op.f('pk_readings'))
    )
    op.create_table('indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sub_runway_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('value_type', sa.String(length=10), nullable=False),
    sa.Column('frequency_s', sa.Integer(), nullable=False),
    sa.Column('source_system', sa.String(length=100), nullable=False),
    sa.Column('owner_unit_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('realtime', sa.Boolean(), nullable=False),
    sa.Column('warning', sa.Boolean(), nullable=False),
    sa.Column('traceable', sa.Boolean(), nullable=False),
    sa.Column('evaluable', sa.Boolean(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_unit_id'], ['units.id'], name=op.f('fk_indicators_owner_unit_id_units')),
    sa.ForeignKeyConstraint(['sub_runway_id'], ['indicator_nodes.id'], name=op.f('fk_indicators_sub_runway_id_indicator_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicators')),
    sa.UniqueConstraint('code', name=op.f('uq_indicators_code'))
    )
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicators_owner_unit_id'), ['owner_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicators_sub_runway_id'), ['sub_runway_id'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_devices_area_id_areas')),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_devices_indicator_id_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('code', name=op.f('uq_devices_code'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('indicator_areas',
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_indicator_areas_area_id_areas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_indicator_areas_indicator_id_indicators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('indicator_id', 'area_id', name=op.f('pk_indicator_areas'))
    )
    with op.batch_alter_table('indicator_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_areas_area_id'), ['area_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('indicator_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_areas_area_id'))

    op.drop_table('indicator_areas')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_indicator_id'))
        batch_op.drop_index(batch_op.f('ix_devices_area_id'))

    op.drop_table('devices')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicators_sub_runway_id'))
        batch_op.drop_index(batch_op.f('ix_indicators_owner_unit_id'))

    op.drop_table('indicators')
    op.drop_table('readings')
    with op.batch_alter_table('reading_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_reading_rollups_hour')

    op.drop_table('reading_rollups')
    with op.batch_alter_table('reading_latest', schema=None) as batch_op:
        batch_op.drop_index('ix_reading_latest_area')

    op.drop_table('reading_latest')
    with op.batch_alter_table('indicator_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_nodes_parent_id'))

    op.drop_table('indicator_nodes')
