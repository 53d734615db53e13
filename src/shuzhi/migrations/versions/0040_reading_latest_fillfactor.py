"""Half-empty pages for ``reading_latest``, whose rows every batch of readings updates, so that the
updates stay HOT between vacuums (PostgreSQL only; see ``LatestReading`` in
``adapters/db/tables_sensing.py``). It applies to pages written from now on;
``VACUUM FULL reading_latest`` applies it to all of them.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 18:00:00.000000

"""

from __future__ import annotations

from alembic import op

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

TABLES = ('reading_latest',)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'ALTER TABLE {table} SET (fillfactor = 50)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'ALTER TABLE {table} RESET (fillfactor)')
