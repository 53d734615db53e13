"""config areas (#15): plan templates and scoring schemes belong to an area (existing ones stay
installation-wide, NULL, as they were: only installation-wide people change them)

Revision ID: secrest_1
Revises: 0025
Create Date: 2026-12-07 08:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'secrest_1'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('plan_templates', sa.Column('area_path', sa.String(length=100), nullable=True))
    op.add_column('evaluation_schemes', sa.Column('area_path', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evaluation_schemes') as batch:
        batch.drop_column('area_path')
    with op.batch_alter_table('plan_templates') as batch:
        batch.drop_column('area_path')
