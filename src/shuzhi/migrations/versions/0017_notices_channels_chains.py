"""notices: people's channels, group robots, escalation policies and chains, notices, receipts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 02:26:09.741342
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('escalation_policies',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_escalation_policies'))
    )
    with op.batch_alter_table('escalation_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_policies_kind'), ['kind'], unique=False)

    op.create_table('notice_chains',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('policy_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('dedup_key', sa.String(length=240), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('next_step_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acked_by', sa.String(length=100), nullable=True),
    sa.Column('ack_person_id', sa.Integer(), nullable=True),
    sa.Column('ack_channel', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_chains'))
    )
    with op.batch_alter_table('notice_chains', schema=None) as batch_op:
        batch_op.create_index('ix_notice_chains_dedup', ['dedup_key', 'started_at'], unique=False)
        batch_op.create_index('ix_notice_chains_due', ['next_step_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_chains_event_id'), ['event_id'], unique=False)

    op.create_table('notice_receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('chain_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_receipts'))
    )
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_notice_receipts_event', ['event_id', 'id'], unique=False)
        batch_op.create_index('ix_notice_receipts_notice', ['notice_id', 'id'], unique=False)
        batch_op.create_index('ix_notice_receipts_person', ['person_id', 'id'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('who', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dedup_key', sa.String(length=240), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('code', name=op.f('uq_notices_code'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_address', ['address', 'id'], unique=False)
        batch_op.create_index('ix_notices_chain', ['chain_id'], unique=False)
        batch_op.create_index('ix_notices_dedup', ['dedup_key', 'created_at'], unique=False)
        batch_op.create_index('ix_notices_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notices_event', ['event_id', 'id'], unique=False)
        batch_op.create_index('ix_notices_person', ['person_id', 'id'], unique=False)

    op.create_table('notice_robots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_notice_robots_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_robots'))
    )
    with op.batch_alter_table('notice_robots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_robots_unit_id'), ['unit_id'], unique=False)

    op.create_table('notice_settings',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_notice_settings_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_notice_settings'))
    )


def downgrade() -> None:
    op.drop_table('notice_settings')
    with op.batch_alter_table('notice_robots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_robots_unit_id'))

    op.drop_table('notice_robots')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_person')
        batch_op.drop_index('ix_notices_event')
        batch_op.drop_index('ix_notices_due')
        batch_op.drop_index('ix_notices_dedup')
        batch_op.drop_index('ix_notices_chain')
        batch_op.drop_index('ix_notices_address')

    op.drop_table('notices')
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_receipts_person')
        batch_op.drop_index('ix_notice_receipts_notice')
        batch_op.drop_index('ix_notice_receipts_event')

    op.drop_table('notice_receipts')
    with op.batch_alter_table('notice_chains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_chains_event_id'))
        batch_op.drop_index('ix_notice_chains_due')
        batch_op.drop_index('ix_notice_chains_dedup')

    op.drop_table('notice_chains')
    with op.batch_alter_table('escalation_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_policies_kind'))

    op.drop_table('escalation_policies')
