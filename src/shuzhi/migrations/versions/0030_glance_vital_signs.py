"""vital signs (城市体征, issue #22): runway and sector lead units, the installation's vital-sign rule; the
risk point register (风险点) with its kinds, watching series and timeline

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 08:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('indicator_nodes') as batch:
        batch.add_column(sa.Column('lead_unit_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_indicator_nodes_lead_unit_id_units'), 'units', ['lead_unit_id'], ['id'])
    op.create_table('vital_sign_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vital_sign_rules')),
    )
    op.create_table('risk_point_kinds',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_risk_point_kinds')),
    )
    op.create_table('risk_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('responsible_unit_id', sa.Integer(), nullable=False),
    sa.Column('responsible_person', sa.String(length=60), nullable=False),
    sa.Column('responsible_phone', sa.String(length=20), nullable=False),
    sa.Column('patrol_every_s', sa.Integer(), nullable=True),
    sa.Column('rectifying', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_risk_points_area_id_areas')),
    sa.ForeignKeyConstraint(['responsible_unit_id'], ['units.id'], name=op.f('fk_risk_points_responsible_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_points')),
    sa.UniqueConstraint('code', name=op.f('uq_risk_points_code')),
    )
    op.create_index(op.f('ix_risk_points_area_path'), 'risk_points', ['area_path'], unique=False)
    op.create_index(op.f('ix_risk_points_kind'), 'risk_points', ['kind'], unique=False)
    op.create_index(op.f('ix_risk_points_responsible_unit_id'), 'risk_points', ['responsible_unit_id'], unique=False)
    op.create_table('risk_point_series',
    sa.Column('risk_point_id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('series_key', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_risk_point_series_indicator_id_indicators')),
    sa.ForeignKeyConstraint(['risk_point_id'], ['risk_points.id'], name=op.f('fk_risk_point_series_risk_point_id_risk_points'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('risk_point_id', 'indicator_id', 'series_key', name=op.f('pk_risk_point_series')),
    )
    op.create_index('ix_risk_point_series_series', 'risk_point_series', ['indicator_id', 'series_key'], unique=False)
    op.create_table('risk_point_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_point_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['risk_point_id'], ['risk_points.id'], name=op.f('fk_risk_point_changes_risk_point_id_risk_points'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_point_changes')),
    )
    op.create_index('ix_risk_point_changes_point', 'risk_point_changes', ['risk_point_id', 'id'], unique=False)
    op.create_table('risk_point_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_point_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('patrol_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['risk_point_id'], ['risk_points.id'], name=op.f('fk_risk_point_checks_risk_point_id_risk_points'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_point_checks')),
    )
    op.create_index('ix_risk_point_checks_point', 'risk_point_checks', ['risk_point_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_risk_point_checks_point', table_name='risk_point_checks')
    op.drop_table('risk_point_checks')
    op.drop_index('ix_risk_point_changes_point', table_name='risk_point_changes')
    op.drop_table('risk_point_changes')
    op.drop_index('ix_risk_point_series_series', table_name='risk_point_series')
    op.drop_table('risk_point_series')
    op.drop_index(op.f('ix_risk_points_responsible_unit_id'), table_name='risk_points')
    op.drop_index(op.f('ix_risk_points_kind'), table_name='risk_points')
    op.drop_index(op.f('ix_risk_points_area_path'), table_name='risk_points')
    op.drop_table('risk_points')
    op.drop_table('risk_point_kinds')
    op.drop_table('vital_sign_rules')
    with op.batch_alter_table('indicator_nodes') as batch:
        batch.drop_constraint(op.f('fk_indicator_nodes_lead_unit_id_units'), type_='foreignkey')
        batch.drop_column('lead_unit_id')
