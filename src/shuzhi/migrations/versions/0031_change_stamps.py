"""change stamps (issue #16): a token per kind of reference data (the organisation, the dispatch rules),
replaced by triggers whenever a change to it is committed, so that a process can keep them compiled and
check them with one row read per decision

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 11:40:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shuzhi.adapters.db import change_stamps

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_stamps',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('txid', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_change_stamps'))
    )
    change_stamps.install(op.get_bind(), ('organisation', 'dispatch_rules'))


def downgrade() -> None:
    change_stamps.uninstall(op.get_bind(), ('organisation', 'dispatch_rules'))
    op.drop_table('change_stamps')
