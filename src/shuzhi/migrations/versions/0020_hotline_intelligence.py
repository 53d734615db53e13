"""hotline intelligence: model versions, suggestions at intake, event links, automation thresholds

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 02:40:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trained_by', sa.String(length=60), nullable=False),
    sa.Column('data_cutoff', sa.DateTime(timezone=True), nullable=True),
    sa.Column('examples', sa.Integer(), nullable=False),
    sa.Column('corrections', sa.Integer(), nullable=False),
    sa.Column('classes', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_by', sa.String(length=60), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('kind', 'version', name=op.f('uq_model_versions_kind'))
    )
    op.create_index(op.f('ix_model_versions_active'), 'model_versions', ['active'], unique=False)
    op.create_table('model_suggestions',
    sa.Column('id', BigId, nullable=False),
    sa.Column('event_id', BigId, nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('class_code', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('top', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_suggestions')),
    sa.UniqueConstraint('event_id', name=op.f('uq_model_suggestions_event_id'))
    )
    op.create_index('ix_model_suggestions_at', 'model_suggestions', ['at'], unique=False)
    op.create_table('event_links',
    sa.Column('id', BigId, nullable=False),
    sa.Column('event_id', BigId, nullable=False),
    sa.Column('linked_event_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_links')),
    sa.UniqueConstraint('event_id', 'linked_event_id', 'kind', name=op.f('uq_event_links_event_id'))
    )
    op.create_index(op.f('ix_event_links_event_id'), 'event_links', ['event_id'], unique=False)
    op.create_index(op.f('ix_event_links_linked_event_id'), 'event_links', ['linked_event_id'], unique=False)
    op.create_table('model_auto_thresholds',
    sa.Column('class_code', sa.String(length=20), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('set_by', sa.String(length=60), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('class_code', name=op.f('pk_model_auto_thresholds'))
    )


def downgrade() -> None:
    op.drop_table('model_auto_thresholds')
    op.drop_index(op.f('ix_event_links_linked_event_id'), table_name='event_links')
    op.drop_index(op.f('ix_event_links_event_id'), table_name='event_links')
    op.drop_table('event_links')
    op.drop_index('ix_model_suggestions_at', table_name='model_suggestions')
    op.drop_table('model_suggestions')
    op.drop_index(op.f('ix_model_versions_active'), table_name='model_versions')
    op.drop_table('model_versions')
