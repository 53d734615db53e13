"""grid teams "1+3+N", duty lists "6+1" and their due items, 五长制 contacts, the dual grid's layer (issue #20)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 11:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # a plain ADD COLUMN with a constant default on both engines (SQLite does not copy the table)
    with op.batch_alter_table('areas') as batch:
        batch.add_column(sa.Column('layer', sa.String(length=12), nullable=False, server_default='governance'))
    op.create_table('grid_team_roles',
    sa.Column('key', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_grid_team_roles')),
    )
    op.create_table('grid_team_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grid_unit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_unit_id'], ['units.id'], name=op.f('fk_grid_team_members_grid_unit_id_units'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_grid_team_members_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_team_members')),
    sa.UniqueConstraint('grid_unit_id', 'person_id', 'role', name=op.f('uq_grid_team_members_grid_unit_id')),
    )
    op.create_index(op.f('ix_grid_team_members_grid_unit_id'), 'grid_team_members', ['grid_unit_id'], unique=False)
    op.create_index(op.f('ix_grid_team_members_person_id'), 'grid_team_members', ['person_id'], unique=False)
    op.create_table('grid_duties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('done_by', sa.String(length=10), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_duties')),
    )
    op.create_index(op.f('ix_grid_duties_role'), 'grid_duties', ['role'], unique=False)
    op.create_table('duty_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('duty_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('grid_unit_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('period_start', UTC_TIME, nullable=False),
    sa.Column('due_at', UTC_TIME, nullable=False),
    sa.Column('done_at', UTC_TIME, nullable=True),
    sa.Column('done_kind', sa.String(length=10), nullable=True),
    sa.Column('patrol_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['duty_id'], ['grid_duties.id'], name=op.f('fk_duty_items_duty_id_grid_duties'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_unit_id'], ['units.id'], name=op.f('fk_duty_items_grid_unit_id_units'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.id'], name=op.f('fk_duty_items_patrol_id_patrols'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_duty_items_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_items')),
    sa.UniqueConstraint('duty_id', 'person_id', 'grid_unit_id', 'period_start',
                        name=op.f('uq_duty_items_duty_id')),
    )
    op.create_index(op.f('ix_duty_items_grid_unit_id'), 'duty_items', ['grid_unit_id'], unique=False)
    op.create_index('ix_duty_items_person_due', 'duty_items', ['person_id', 'due_at'], unique=False)
    op.create_index('ix_duty_items_path_due', 'duty_items', ['area_path', 'due_at'], unique=False)
    op.create_table('area_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('link', sa.String(length=12), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_area_contacts_area_id_areas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['area_contacts.id'], name=op.f('fk_area_contacts_parent_id_area_contacts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_area_contacts_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area_contacts')),
    )
    op.create_index(op.f('ix_area_contacts_area_id'), 'area_contacts', ['area_id'], unique=False)
    op.create_index(op.f('ix_area_contacts_person_id'), 'area_contacts', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_table('area_contacts')
    op.drop_table('duty_items')
    op.drop_table('grid_duties')
    op.drop_table('grid_team_members')
    op.drop_table('grid_team_roles')
    # a plain DROP COLUMN (SQLite ≥ 3.35): a batch copy of ``areas`` fails once other tables' rows name it
    op.drop_column('areas', 'layer')
