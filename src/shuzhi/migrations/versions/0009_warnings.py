"""warnings: threshold rules, warnings and their episodes, silences, inhibitions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:00:00.000000

Reserved for the warnings work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
