"""calendar: entered holiday years, office hours per centre

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 12:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('makeup_workdays', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.String(length=60), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    op.create_table('office_hours',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('spans', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_office_hours_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_office_hours'))
    )


def downgrade() -> None:
    op.drop_table('office_hours')
    op.drop_table('calendar_years')
