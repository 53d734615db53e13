"""evaluation: per-event facts, daily roll-ups, scoring schemes, reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shuzhi.adapters.db.tables import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
COUNT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('evaluation_event_facts',
    sa.Column('event_id', BIG_ID, autoincrement=False, nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_evaluation_event_facts'))
    )
    op.create_table('evaluation_rollups',
    sa.Column('grain', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('area_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('class_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('received', COUNT, nullable=False),
    sa.Column('registered', COUNT, nullable=False),
    sa.Column('dispatched', COUNT, nullable=False),
    sa.Column('dispatched_accurately', COUNT, nullable=False),
    sa.Column('returned', COUNT, nullable=False),
    sa.Column('self_handled', COUNT, nullable=False),
    sa.Column('accepted_on_time', COUNT, nullable=False),
    sa.Column('accepted_late', COUNT, nullable=False),
    sa.Column('accepted', COUNT, nullable=False),
    sa.Column('accept_seconds', COUNT, nullable=False),
    sa.Column('accept_work_seconds', COUNT, nullable=False),
    sa.Column('handled_on_time', COUNT, nullable=False),
    sa.Column('handled_overdue', COUNT, nullable=False),
    sa.Column('task_reports', COUNT, nullable=False),
    sa.Column('handle_seconds', COUNT, nullable=False),
    sa.Column('handle_work_seconds', COUNT, nullable=False),
    sa.Column('handled', COUNT, nullable=False),
    sa.Column('reworked', COUNT, nullable=False),
    sa.Column('due', COUNT, nullable=False),
    sa.Column('deferred', COUNT, nullable=False),
    sa.Column('due_closed', COUNT, nullable=False),
    sa.Column('due_closed_on_time', COUNT, nullable=False),
    sa.Column('closed', COUNT, nullable=False),
    sa.Column('called_back', COUNT, nullable=False),
    sa.Column('satisfied', COUNT, nullable=False),
    sa.PrimaryKeyConstraint('grain', 'day', 'area_id', 'unit_id', 'class_id', 'source', name=op.f('pk_evaluation_rollups'))
    )
    op.create_index('ix_evaluation_rollups_grain_class_day', 'evaluation_rollups', ['grain', 'class_id', 'day'], unique=False)
    op.create_table('evaluation_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_schemes')),
    sa.UniqueConstraint('code', name=op.f('uq_evaluation_schemes_code'))
    )
    op.create_table('evaluation_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('judged_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('refreshed_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('events_applied', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_state'))
    )
    op.create_table('evaluation_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period_label', sa.String(length=30), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('generated_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('generated_by', sa.String(length=60), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.Column('docx', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_evaluation_reports_area_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_reports')),
    sa.UniqueConstraint('kind', 'period_start', 'area_id', name=op.f('uq_evaluation_reports_kind'))
    )
    op.create_index(op.f('ix_evaluation_reports_area_path'), 'evaluation_reports', ['area_path'], unique=False)
    op.create_index('ix_tasks_accept_due_at', 'tasks', ['accept_due_at'], unique=False)
    op.create_index('ix_tasks_handle_due_at', 'tasks', ['handle_due_at'], unique=False)
    op.create_index('ix_timeline_actor_at', 'timeline_entries', ['actor_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_timeline_actor_at', table_name='timeline_entries')
    op.drop_index('ix_tasks_handle_due_at', table_name='tasks')
    op.drop_index('ix_tasks_accept_due_at', table_name='tasks')
    op.drop_index(op.f('ix_evaluation_reports_area_path'), table_name='evaluation_reports')
    op.drop_table('evaluation_reports')
    op.drop_table('evaluation_state')
    op.drop_table('evaluation_schemes')
    op.drop_index('ix_evaluation_rollups_grain_class_day', table_name='evaluation_rollups')
    op.drop_table('evaluation_rollups')
    op.drop_table('evaluation_event_facts')
