"""configuration belongs to an area (#15): supervision thresholds per area (the thresholds saved so far
become the district's, as dispatch rules did in 0015)

Threshold rules and silences already carry the area they govern (``area_path``, null = everywhere,
which only an installation-wide author writes); office hours belong to their centre's area.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 08:10:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('supervision_rules') as batch:
        batch.add_column(sa.Column('area_path', sa.String(length=100), nullable=True))
        batch.create_index('ux_supervision_rules_area', ['area_path'], unique=True)
    # Thresholds saved before areas had their own were the district's: they keep governing the
    # district's tasks. With several districts (or none) they stay installation-wide, as they were.
    op.execute("UPDATE supervision_rules SET area_path = (SELECT MIN(path) FROM areas WHERE level = 'district') "
               "WHERE (SELECT COUNT(*) FROM areas WHERE level = 'district') = 1")


def downgrade() -> None:
    # one set of thresholds survives, as row 1: the first saved (the one in force before 0028)
    op.execute("DELETE FROM supervision_rules WHERE id <> (SELECT MIN(id) FROM supervision_rules)")
    op.execute("UPDATE supervision_rules SET id = 1")
    with op.batch_alter_table('supervision_rules') as batch:
        batch.drop_index('ux_supervision_rules_area')
        batch.drop_column('area_path')
