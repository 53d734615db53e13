"""duty roster: shifts per centre (leader on duty, officers)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_duty_shifts_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_duty_shifts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts'))
    )
    op.create_index('ix_duty_shifts_person_starts', 'duty_shifts', ['person_id', 'starts_at'], unique=False)
    op.create_index('ix_duty_shifts_unit_starts', 'duty_shifts', ['unit_id', 'starts_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_duty_shifts_unit_starts', table_name='duty_shifts')
    op.drop_index('ix_duty_shifts_person_starts', table_name='duty_shifts')
    op.drop_table('duty_shifts')
