"""dispatch rules and their versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dispatch_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('condition', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_dispatch_rules_code'))
    )
    op.create_table('dispatch_rule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=10), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('changed_by', sa.String(length=60), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['dispatch_rules.id'],
                            name=op.f('fk_dispatch_rule_versions_rule_id_dispatch_rules'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_rule_versions')),
    sa.UniqueConstraint('rule_code', 'version', name=op.f('uq_dispatch_rule_versions_rule_code'))
    )
    with op.batch_alter_table('dispatch_rule_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_rule_versions_rule_id'), ['rule_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dispatch_rule_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_rule_versions_rule_id'))

    op.drop_table('dispatch_rule_versions')
    op.drop_table('dispatch_rules')
