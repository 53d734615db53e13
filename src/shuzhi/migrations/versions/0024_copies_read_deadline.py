"""copies (抄送) read deadline and the unread-copies index

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 05:30:00.000000

A copy's read deadline (``tasks.read_due_at``, working time) drives its supervision clock and the
及时知悉率; the partial index ``ix_tasks_unit_unread`` is what a unit's inbox of unread copies reads
(first page newest first, and the count) — a district centre holds 100,000 of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tasks', sa.Column('read_due_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tasks_unit_unread', 'tasks', ['unit_id', 'id'], unique=False,
                    postgresql_where=sa.text("state = 'notified'"), sqlite_where=sa.text("state = 'notified'"))


def downgrade() -> None:
    op.drop_index('ix_tasks_unit_unread', table_name='tasks')
    op.drop_column('tasks', 'read_due_at')
