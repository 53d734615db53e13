"""integration: Open311 service mapping and Open311 request details

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open311_services',
    sa.Column('event_class_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('service_name', sa.String(length=100), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('group_name', sa.String(length=100), nullable=True),
    sa.Column('keywords', sa.String(length=300), nullable=True),
    sa.Column('service_notice', sa.Text(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_class_id'], ['event_classes.id'],
                            name=op.f('fk_open311_services_event_class_id_event_classes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_class_id', name=op.f('pk_open311_services')),
    sa.UniqueConstraint('service_code', name=op.f('uq_open311_services_service_code'))
    )
    op.create_table('open311_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.String(length=100), nullable=True),
    sa.Column('device_id', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('media_url', sa.String(length=500), nullable=True),
    sa.Column('address_id', sa.String(length=40), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_open311_requests_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_requests')),
    sa.UniqueConstraint('event_id', name=op.f('uq_open311_requests_event_id')),
    sa.UniqueConstraint('token', name=op.f('uq_open311_requests_token'))
    )


def downgrade() -> None:
    op.drop_table('open311_requests')
    op.drop_table('open311_services')
