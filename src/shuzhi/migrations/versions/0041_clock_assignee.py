"""supervision_clocks.assignee_id: the person a task is assigned to (事件责任人), whom its reminders follow,
carried on the clock like the task's unit, so that the sweep's claim reads no task row (a random page of
the tasks table per due row, most of the claim's time at 1 M open tasks); filled from the tasks. The
clocks' index of due times holds the task too: each claim of a sweep starts after the last clock the one
before took, instead of walking again over the index entries of the clocks already carried out.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 18:10:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('supervision_clocks', sa.Column('assignee_id', sa.Integer(), nullable=True))
    # by the task's key and its district (co-located on Citus); only the assigned tasks' clocks change
    op.execute("UPDATE supervision_clocks SET assignee_id = tasks.assignee_id FROM tasks "
               "WHERE tasks.id = supervision_clocks.task_id AND tasks.district_code = supervision_clocks.district_code "
               "AND tasks.assignee_id IS NOT NULL")
    op.drop_index('ix_supervision_clocks_next_due', table_name='supervision_clocks')
    op.create_index('ix_supervision_clocks_next_due', 'supervision_clocks', ['next_due_at', 'task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_supervision_clocks_next_due', table_name='supervision_clocks')
    op.create_index('ix_supervision_clocks_next_due', 'supervision_clocks', ['next_due_at'], unique=False)
    with op.batch_alter_table('supervision_clocks', schema=None) as batch_op:
        batch_op.drop_column('assignee_id')
