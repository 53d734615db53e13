"""supervision: scheduler jobs, reminders, cards, urges, escalations, inboxes, calendar years, office hours, webhooks outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000

Reserved for the supervision work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
