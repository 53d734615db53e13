"""sensing: indicator tree, readings, thresholds, warnings, silences

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00.000000

Reserved for the sensing work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
