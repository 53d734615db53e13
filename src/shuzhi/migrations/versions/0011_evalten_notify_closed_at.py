"""notify-only events closed before the fix get their closing time

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 07:00:00.000000

A notify-only event (抄送知悉) closes when its last unit has read it; until this revision the service
moved it to ``closed`` without setting ``closed_at``, so closure figures and searches by closing time
missed it.  The moment is on its ``event.all_read`` timeline entry (every state change writes one);
failing that, the last read of its tasks.  Evaluation roll-ups need no refresh: they count closings of
handle-mode events only.
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        UPDATE events SET closed_at = coalesce(
            (SELECT max(t.at) FROM timeline_entries t WHERE t.event_id = events.id AND t.action = 'event.all_read'),
            (SELECT max(k.read_at) FROM tasks k WHERE k.event_id = events.id))
        WHERE mode = 'notify' AND state = 'closed' AND closed_at IS NULL
    """)


def downgrade() -> None:
    """Nothing to undo: the times are facts, and the fixed service sets them anyway."""
