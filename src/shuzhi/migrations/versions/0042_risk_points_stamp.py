"""the risk points' change stamp (issue #22): a token replaced by triggers whenever a change to the risk
points, their watching series or the kinds is committed, so that a process can keep the cockpit's risk
layer (20,000 points) read and encoded and check it with one row read per request

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 18:10:00.000000

"""

from __future__ import annotations

from alembic import op

from shuzhi.adapters.db import change_stamps

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    change_stamps.install(op.get_bind(), ('risk_points',))


def downgrade() -> None:
    change_stamps.uninstall(op.get_bind(), ('risk_points',))
