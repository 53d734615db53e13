"""config areas (#15): plan templates and scoring schemes belong to an area (existing ones stay
installation-wide, NULL, as they were: only installation-wide people change them); MQTT receipts
(when a message without its own time was first received, so a redelivery is stored once)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 08:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('plan_templates', sa.Column('area_path', sa.String(length=100), nullable=True))
    op.add_column('evaluation_schemes', sa.Column('area_path', sa.String(length=100), nullable=True))
    op.create_table(
        'mqtt_receipts',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name=op.f('pk_mqtt_receipts')),
    )
    op.create_index(op.f('ix_mqtt_receipts_received_at'), 'mqtt_receipts', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mqtt_receipts_received_at'), table_name='mqtt_receipts')
    op.drop_table('mqtt_receipts')
    with op.batch_alter_table('evaluation_schemes') as batch:
        batch.drop_column('area_path')
    with op.batch_alter_table('plan_templates') as batch:
        batch.drop_column('area_path')
