"""warnings: threshold rules, warnings and their episodes, silences, inhibitions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('warning_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_config'))
    )
    op.create_table('warning_inhibitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_inhibitions')),
    sa.UniqueConstraint('code', name=op.f('uq_warning_inhibitions_code'))
    )
    op.create_table('warning_silences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('matcher', sa.JSON(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expired_by', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_silences'))
    )
    with op.batch_alter_table('warning_silences', schema=None) as batch_op:
        batch_op.create_index('ix_warning_silences_ends', ['ends_at'], unique=False)

    op.create_table('threshold_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('area_key', sa.String(length=15), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('area_path', sa.String(length=100), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_threshold_rules_area_id_areas')),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_threshold_rules_indicator_id_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_threshold_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_threshold_rules_code')),
    sa.UniqueConstraint('indicator_id', 'area_key', name=op.f('uq_threshold_rules_indicator_id'))
    )
    with op.batch_alter_table('threshold_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_threshold_rules_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('warnings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('episode_key', sa.String(length=140), nullable=False),
    sa.Column('open_key', sa.String(length=80), nullable=True),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('indicator_code', sa.String(length=40), nullable=False),
    sa.Column('series_key', sa.String(length=60), nullable=False),
    sa.Column('area_code', sa.String(length=15), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('device_code', sa.String(length=60), nullable=True),
    sa.Column('rule_code', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=True),
    sa.Column('peak_level', sa.String(length=10), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('last_reading_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suppressed', sa.JSON(), nullable=True),
    sa.Column('notified', sa.Boolean(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=60), nullable=True),
    sa.Column('ack_note', sa.Text(), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_warnings_event_id_events')),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_warnings_indicator_id_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warnings')),
    sa.UniqueConstraint('episode_key', name=op.f('uq_warnings_episode_key')),
    sa.UniqueConstraint('open_key', name=op.f('uq_warnings_open_key'))
    )
    with op.batch_alter_table('warnings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warnings_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_warnings_series', ['indicator_id', 'series_key'], unique=False)
        batch_op.create_index('ix_warnings_started', ['started_at', 'id'], unique=False)
        batch_op.create_index('ix_warnings_state_area', ['state', 'area_path'], unique=False)

    op.create_table('warning_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('warning_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('change', sa.String(length=12), nullable=False),
    sa.Column('from_level', sa.String(length=10), nullable=True),
    sa.Column('to_level', sa.String(length=10), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['warning_id'], ['warnings.id'], name=op.f('fk_warning_changes_warning_id_warnings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_changes'))
    )
    with op.batch_alter_table('warning_changes', schema=None) as batch_op:
        batch_op.create_index('ix_warning_changes_warning', ['warning_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('warning_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_warning_changes_warning')

    op.drop_table('warning_changes')
    with op.batch_alter_table('warnings', schema=None) as batch_op:
        batch_op.drop_index('ix_warnings_state_area')
        batch_op.drop_index('ix_warnings_started')
        batch_op.drop_index('ix_warnings_series')
        batch_op.drop_index(batch_op.f('ix_warnings_event_id'))

    op.drop_table('warnings')
    with op.batch_alter_table('threshold_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_threshold_rules_indicator_id'))

    op.drop_table('threshold_rules')
    with op.batch_alter_table('warning_silences', schema=None) as batch_op:
        batch_op.drop_index('ix_warning_silences_ends')

    op.drop_table('warning_silences')
    op.drop_table('warning_inhibitions')
    op.drop_table('warning_config')

