"""integration: Open311 service mapping, bulk jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:00.000000

Reserved for the integration work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
