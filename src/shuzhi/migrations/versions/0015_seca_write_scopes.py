"""write scopes (#15): a dispatch rule belongs to an area (existing rules get the district's), and an
event class says whether a case handled on the spot must be verified by someone else (on by default)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dispatch_rules', sa.Column('area_path', sa.String(length=100), nullable=True))
    op.add_column('event_classes', sa.Column('separate_verifier', sa.Boolean(), server_default=sa.true(),
                                             nullable=False))
    # Rules written before areas existed were the district's: they keep routing the district's events.
    # With several districts (or none) they stay installation-wide, as they were.
    op.execute("UPDATE dispatch_rules SET area_path = (SELECT MIN(path) FROM areas WHERE level = 'district') "
               "WHERE (SELECT COUNT(*) FROM areas WHERE level = 'district') = 1")


def downgrade() -> None:
    op.drop_column('event_classes', 'separate_verifier')
    op.drop_column('dispatch_rules', 'area_path')
