"""Self-service rating: the digest of the check code printed on a case's receipt (查询校验码).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_cases", sa.Column("check_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("service_cases", "check_digest")
