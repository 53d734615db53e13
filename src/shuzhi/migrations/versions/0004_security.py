"""security: accounts, sessions, API keys, audit log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00.000000

Reserved for the security work; empty until its tables land (each area of the product owns one revision
so that parallel work never forks the chain).
"""

from __future__ import annotations

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
