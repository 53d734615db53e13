"""a cheaper supervision sweep: append-only records name what they are about by id (no foreign keys
on the timeline, the inboxes and the supervision steps); the index of personal inbox items leaves out
the unit items; the supervision clocks carry their task's unit and their event's number, title, area
and class, and leave room on every page

Why (``docs/architecture.md``, "Append-only records"): a foreign-key check locks the row it points at, so
each line the sweep appends locked its task's and its event's rows — for 10,000 due tasks, 20,000 more
rows written and 20,000 more pages dirtied in a sweep that only reads them. Events, tasks, units and
people are never deleted (they end, close or are deactivated), so the checks guarded against nothing.
With the task's and the event's columns on the clock, the sweep's claim reads no task or event row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 11:30:00.000000

"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_DROPPED = {
    'timeline_entries': [('event_id', 'events'), ('task_id', 'tasks'), ('actor_id', 'people')],
    'notifications': [('person_id', 'people'), ('unit_id', 'units')],
    'supervision_steps': [('task_id', 'tasks')],
}

_CLOCK_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ('unit_id', sa.Integer()), ('dispatched_by_unit_id', sa.Integer()), ('event_number', sa.String(length=40)),
    ('event_title', sa.String(length=200)), ('area_path', sa.String(length=100)), ('event_class_id', sa.Integer()),
]
_NOT_NULL = {'unit_id', 'event_number', 'event_title', 'area_path'}


def upgrade() -> None:
    for table, refs in _DROPPED.items():
        with op.batch_alter_table(table) as batch:
            for column, target in refs:
                batch.drop_constraint(f'fk_{table}_{column}_{target}', type_='foreignkey')
    op.drop_index('ix_notifications_person', table_name='notifications')
    op.create_index('ix_notifications_person', 'notifications', ['person_id', 'id'], unique=False,
                    postgresql_where=sa.text('person_id IS NOT NULL'), sqlite_where=sa.text('person_id IS NOT NULL'))
    with op.batch_alter_table('supervision_clocks') as batch:
        for name, type_ in _CLOCK_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    # the clocks of open tasks: from their tasks and events (a clock always has both); one join on
    # PostgreSQL, where a district's clocks can number a million, correlated look-ups on SQLite
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "UPDATE supervision_clocks c SET unit_id = t.unit_id, dispatched_by_unit_id = t.dispatched_by_unit_id, "
            "event_number = e.number, event_title = e.title, area_path = COALESCE(e.area_path, ''), "
            "event_class_id = e.event_class_id FROM tasks t JOIN events e ON e.id = t.event_id "
            "WHERE t.id = c.task_id")
    else:
        op.execute(
            "UPDATE supervision_clocks SET "
            "unit_id = (SELECT unit_id FROM tasks WHERE tasks.id = supervision_clocks.task_id), "
            "dispatched_by_unit_id = (SELECT dispatched_by_unit_id FROM tasks WHERE tasks.id = supervision_clocks.task_id), "
            "event_number = (SELECT number FROM events WHERE events.id = supervision_clocks.event_id), "
            "event_title = (SELECT title FROM events WHERE events.id = supervision_clocks.event_id), "
            "area_path = (SELECT COALESCE(area_path, '') FROM events WHERE events.id = supervision_clocks.event_id), "
            "event_class_id = (SELECT event_class_id FROM events WHERE events.id = supervision_clocks.event_id)")
    with op.batch_alter_table('supervision_clocks') as batch:
        for name, _type in _CLOCK_COLUMNS:
            if name in _NOT_NULL:
                batch.alter_column(name, nullable=False)
    if op.get_bind().dialect.name == 'postgresql':
        # applies to pages written from now on; VACUUM FULL supervision_clocks applies it to all
        op.execute('ALTER TABLE supervision_clocks SET (fillfactor = 80)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE supervision_clocks RESET (fillfactor)')
    with op.batch_alter_table('supervision_clocks') as batch:
        for name, _type in reversed(_CLOCK_COLUMNS):
            batch.drop_column(name)
    op.drop_index('ix_notifications_person', table_name='notifications')
    op.create_index('ix_notifications_person', 'notifications', ['person_id', 'id'], unique=False)
    for table, refs in _DROPPED.items():
        with op.batch_alter_table(table) as batch:
            for column, target in refs:
                batch.create_foreign_key(f'fk_{table}_{column}_{target}', target, [column], ['id'],
                                         ondelete='CASCADE' if table == 'supervision_steps' else None)
