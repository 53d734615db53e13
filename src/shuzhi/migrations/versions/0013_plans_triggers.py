"""plans: every trigger a run answers (attached triggers), re-dispatched and cancelled shares

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 07:00:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_run_triggers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('warning_id', sa.BigInteger(), nullable=True),
    sa.Column('warning_level', sa.String(length=10), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('areas', sa.JSON(), nullable=False),
    sa.Column('new_areas', sa.JSON(), nullable=False),
    sa.Column('added_tasks', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_plan_run_triggers_event_id_events')),
    sa.ForeignKeyConstraint(['run_id'], ['plan_runs.id'], name=op.f('fk_plan_run_triggers_run_id_plan_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_run_triggers')),
    sa.UniqueConstraint('trigger_key', name=op.f('uq_plan_run_triggers_trigger_key'))
    )
    op.create_index(op.f('ix_plan_run_triggers_event_id'), 'plan_run_triggers', ['event_id'], unique=False)
    op.create_index(op.f('ix_plan_run_triggers_run_id'), 'plan_run_triggers', ['run_id'], unique=False)
    op.create_index(op.f('ix_plan_run_triggers_warning_id'), 'plan_run_triggers', ['warning_id'], unique=False)
    with op.batch_alter_table('plan_run_steps') as batch:
        batch.add_column(sa.Column('former_task_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('end_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('plan_run_steps') as batch:
        batch.alter_column('former_task_ids', server_default=None)
    # Runs started before this revision answer their one trigger.
    op.execute(
        "INSERT INTO plan_run_triggers (run_id, trigger_key, kind, role, warning_id, warning_level, event_id, "
        "areas, new_areas, added_tasks, at) "
        "SELECT id, trigger_key, trigger_kind, 'started', warning_id, warning_level, event_id, affected_areas, "
        "affected_areas, 0, COALESCE(started_at, proposed_at, created_at) FROM plan_runs "
        "WHERE trigger_key IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('plan_run_steps') as batch:
        batch.drop_column('end_reason')
        batch.drop_column('former_task_ids')
    op.drop_index(op.f('ix_plan_run_triggers_warning_id'), table_name='plan_run_triggers')
    op.drop_index(op.f('ix_plan_run_triggers_run_id'), table_name='plan_run_triggers')
    op.drop_index(op.f('ix_plan_run_triggers_event_id'), table_name='plan_run_triggers')
    op.drop_table('plan_run_triggers')
