"""The district code on every row of a case (events, tasks, timeline, attachments, supervision clocks and
steps, urges, escalations), filled from the event number; an index of a district's events by time; the
supervision steps' unique key holds the district. On Citus ``adapters/db/citus.py`` then distributes
these tables by it (nothing Citus-only here: the same file runs on SQLite and PostgreSQL).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 15:40:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

CHILDREN = ('tasks', 'timeline_entries', 'attachments', 'supervision_steps', 'urges', 'escalations')
TABLES = ('events', *CHILDREN, 'supervision_clocks')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('district_code', sa.String(length=12), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE events SET district_code = split_part(number, '-', 1)")
        op.execute("UPDATE supervision_clocks SET district_code = split_part(event_number, '-', 1)")
    else:
        op.execute("UPDATE events SET district_code = substr(number, 1, instr(number, '-') - 1)")
        op.execute("UPDATE supervision_clocks SET district_code = "
                   "substr(event_number, 1, instr(event_number, '-') - 1)")
    for table in CHILDREN:
        op.execute(f"UPDATE {table} SET district_code = "
                   f"(SELECT district_code FROM events WHERE events.id = {table}.event_id)")
    op.create_index('ix_events_district_received', 'events', ['district_code', 'received_at'], unique=False)
    with op.batch_alter_table('supervision_steps', schema=None) as batch_op:
        batch_op.drop_constraint('uq_supervision_steps_task_step_deadline', type_='unique')
        batch_op.create_unique_constraint('uq_supervision_steps_task_step_deadline',
                                          ['task_id', 'step', 'deadline', 'district_code'])


def downgrade() -> None:
    with op.batch_alter_table('supervision_steps', schema=None) as batch_op:
        batch_op.drop_constraint('uq_supervision_steps_task_step_deadline', type_='unique')
        batch_op.create_unique_constraint('uq_supervision_steps_task_step_deadline', ['task_id', 'step', 'deadline'])
    op.drop_index('ix_events_district_received', table_name='events')
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('district_code')
