"""Self-service rating: the digest of the check code printed on a case's receipt (查询校验码).

Revision ID: s2_1
Revises: services_1 (the service tables; the lead chains it at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 's2_1'
down_revision = 'services_1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_cases", sa.Column("check_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("service_cases", "check_digest")
