"""copy lists (抄送名单): named sets of units a notice is copied to at once

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 03:50:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('copy_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('owner_unit_id', sa.Integer(), nullable=True),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_unit_id'], ['units.id'], name=op.f('fk_copy_lists_owner_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copy_lists')),
    sa.UniqueConstraint('owner_unit_id', 'name', name='uq_copy_lists_owner_name'),
    )
    op.create_index(op.f('ix_copy_lists_area_path'), 'copy_lists', ['area_path'], unique=False)
    op.create_table('copy_list_members',
    sa.Column('copy_list_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['copy_list_id'], ['copy_lists.id'],
                            name=op.f('fk_copy_list_members_copy_list_id_copy_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_copy_list_members_unit_id_units')),
    sa.PrimaryKeyConstraint('copy_list_id', 'unit_id', name=op.f('pk_copy_list_members')),
    )


def downgrade() -> None:
    op.drop_table('copy_list_members')
    op.drop_index(op.f('ix_copy_lists_area_path'), table_name='copy_lists')
    op.drop_table('copy_lists')
