"""一贯到底 (issue #22): two small partial indexes for the cross-level figures — the timeline lines that
send work up a level, by time, and the tasks that carry work (lead/assist, not copies), by dispatch time —
so that "the last 30 days" reads a few thousand index entries, not the whole timeline or task table.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 11:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

MOVES_UP = "action IN ('event.escalate', 'task.return', 'task.escalate', 'supervision.escalate')"
WORK = "role IN ('lead', 'assist')"


def upgrade() -> None:
    op.create_index('ix_timeline_moves_up_at', 'timeline_entries', ['at'], unique=False,
                    postgresql_where=sa.text(MOVES_UP), sqlite_where=sa.text(MOVES_UP))
    op.create_index('ix_tasks_work_dispatched', 'tasks', ['dispatched_at'], unique=False,
                    postgresql_where=sa.text(WORK), sqlite_where=sa.text(WORK))


def downgrade() -> None:
    op.drop_index('ix_tasks_work_dispatched', table_name='tasks')
    op.drop_index('ix_timeline_moves_up_at', table_name='timeline_entries')
