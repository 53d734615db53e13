"""evaluation roll-ups: the class index leads with the class

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 07:40:00.000000

With ``(grain, class_id, day)`` PostgreSQL used the index for per-class figures that have no class
condition and scanned every day of the grain's history (cost growing with history); ``(class_id, grain,
day)`` serves the class filters only, and the other queries read the month's rows by the primary key.
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_evaluation_rollups_grain_class_day', table_name='evaluation_rollups')
    op.create_index('ix_evaluation_rollups_class_grain_day', 'evaluation_rollups', ['class_id', 'grain', 'day'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_evaluation_rollups_class_grain_day', table_name='evaluation_rollups')
    op.create_index('ix_evaluation_rollups_grain_class_day', 'evaluation_rollups', ['grain', 'class_id', 'day'],
                    unique=False)
