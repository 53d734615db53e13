"""vital signs (城市体征, issue #22): runway and sector lead units, the installation's vital-sign rule

Revision ID: glance_1
Revises: 0025
Create Date: 2026-12-07 08:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'glance_1'
down_revision = '0025'
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


def downgrade() -> None:
    op.drop_table('vital_sign_rules')
    with op.batch_alter_table('indicator_nodes') as batch:
        batch.drop_constraint(op.f('fk_indicator_nodes_lead_unit_id_units'), type_='foreignkey')
        batch.drop_column('lead_unit_id')
