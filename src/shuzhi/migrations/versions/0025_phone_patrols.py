"""patrol log (巡查记录): a grid worker's patrols, their track points and the findings reported on them

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 05:40:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patrols',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('point_count', sa.Integer(), nullable=False),
    sa.Column('last_lon', sa.Float(), nullable=True),
    sa.Column('last_lat', sa.Float(), nullable=True),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_patrols_area_id_areas')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_patrols_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_patrols_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrols')),
    )
    op.create_index(op.f('ix_patrols_area_path'), 'patrols', ['area_path'], unique=False)
    op.create_index(op.f('ix_patrols_person_id'), 'patrols', ['person_id'], unique=False)
    op.create_index(op.f('ix_patrols_started_at'), 'patrols', ['started_at'], unique=False)
    op.create_index(op.f('ix_patrols_unit_id'), 'patrols', ['unit_id'], unique=False)
    op.create_table('patrol_points',
    sa.Column('patrol_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_patrol_points_patrol_id_patrols'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patrol_id', 'seq', name=op.f('pk_patrol_points')),
    )
    op.create_table('patrol_findings',
    sa.Column('patrol_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_patrol_findings_event_id_events'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_patrol_findings_patrol_id_patrols'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patrol_id', 'event_id', name=op.f('pk_patrol_findings')),
    )
    op.create_index(op.f('ix_patrol_findings_event_id'), 'patrol_findings', ['event_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_patrol_findings_event_id'), table_name='patrol_findings')
    op.drop_table('patrol_findings')
    op.drop_table('patrol_points')
    op.drop_index(op.f('ix_patrols_unit_id'), table_name='patrols')
    op.drop_index(op.f('ix_patrols_started_at'), table_name='patrols')
    op.drop_index(op.f('ix_patrols_person_id'), table_name='patrols')
    op.drop_index(op.f('ix_patrols_area_path'), table_name='patrols')
    op.drop_table('patrols')
