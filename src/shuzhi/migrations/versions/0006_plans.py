"""plans: templates, runs, reviews

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00.000000

Plan templates and their versions, plan runs and their steps (one per unit's share of a template
task, linked to its task once dispatched), and the notes of reviews (复盘).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_template_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('changed_by', sa.String(length=60), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_template_versions')),
    sa.UniqueConstraint('template_code', 'version', name=op.f('uq_plan_template_versions_template_code'))
    )
    op.create_table('plan_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('trigger_kind', sa.String(length=12), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_templates')),
    sa.UniqueConstraint('code', name=op.f('uq_plan_templates_code'))
    )
    op.create_index(op.f('ix_plan_templates_trigger_kind'), 'plan_templates', ['trigger_kind'], unique=False)
    op.create_table('review_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_notes')),
    sa.UniqueConstraint('subject_kind', 'subject_id', name=op.f('uq_review_notes_subject_kind'))
    )
    op.create_table('plan_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('template_code', sa.String(length=40), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('trigger_key', sa.String(length=200), nullable=True),
    sa.Column('trigger_kind', sa.String(length=12), nullable=False),
    sa.Column('warning_id', sa.BigInteger(), nullable=True),
    sa.Column('warning_level', sa.String(length=10), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('affected_areas', sa.JSON(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.String(length=60), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_plan_runs_event_id_events')),
    sa.ForeignKeyConstraint(['template_id'], ['plan_templates.id'], name=op.f('fk_plan_runs_template_id_plan_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_runs')),
    sa.UniqueConstraint('trigger_key', name=op.f('uq_plan_runs_trigger_key'))
    )
    op.create_index(op.f('ix_plan_runs_event_id'), 'plan_runs', ['event_id'], unique=False)
    op.create_index('ix_plan_runs_state_started', 'plan_runs', ['state', 'started_at'], unique=False)
    op.create_index(op.f('ix_plan_runs_template_id'), 'plan_runs', ['template_id'], unique=False)
    op.create_table('plan_run_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_key', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=60), nullable=False),
    sa.Column('part', sa.String(length=10), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=100), nullable=False),
    sa.Column('area_code', sa.String(length=15), nullable=True),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('instruction', sa.Text(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.String(length=20), nullable=False),
    sa.Column('accept_within', sa.String(length=20), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['plan_runs.id'], name=op.f('fk_plan_run_steps_run_id_plan_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_plan_run_steps_task_id_tasks')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_plan_run_steps_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_run_steps'))
    )
    op.create_index('ix_plan_run_steps_run_state', 'plan_run_steps', ['run_id', 'state'], unique=False)
    op.create_index(op.f('ix_plan_run_steps_task_id'), 'plan_run_steps', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_plan_run_steps_task_id'), table_name='plan_run_steps')
    op.drop_index('ix_plan_run_steps_run_state', table_name='plan_run_steps')
    op.drop_table('plan_run_steps')
    op.drop_index(op.f('ix_plan_runs_template_id'), table_name='plan_runs')
    op.drop_index('ix_plan_runs_state_started', table_name='plan_runs')
    op.drop_index(op.f('ix_plan_runs_event_id'), table_name='plan_runs')
    op.drop_table('plan_runs')
    op.drop_table('review_notes')
    op.drop_index(op.f('ix_plan_templates_trigger_kind'), table_name='plan_templates')
    op.drop_table('plan_templates')
    op.drop_table('plan_template_versions')
