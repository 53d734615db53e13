"""evaluation: roll-ups, scoring schemes, reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00.000000

Reserved for the evaluation work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
