"""calendar: entered holiday years, office hours per centre

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 12:00:00.000000

Reserved for the calendar work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
