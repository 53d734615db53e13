"""The duty desk: shift handovers (交接班), the duty log (值班日志), on-post checks (在岗抽查)

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('duty_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('from_person_id', sa.Integer(), nullable=False),
    sa.Column('to_person_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirm_note', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=60), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['from_person_id'], ['people.id'], name=op.f('fk_duty_handovers_from_person_id_people')),
    sa.ForeignKeyConstraint(['to_person_id'], ['people.id'], name=op.f('fk_duty_handovers_to_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_duty_handovers_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_handovers'))
    )
    op.create_index('ix_duty_handovers_unit_offered', 'duty_handovers', ['unit_id', 'offered_at'], unique=False)
    op.create_table('duty_log_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('counterpart', sa.String(length=100), nullable=False),
    sa.Column('event_id', EVENT_ID, nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_duty_log_entries_event_id_events')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_duty_log_entries_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_duty_log_entries_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_log_entries'))
    )
    op.create_index('ix_duty_log_unit_occurred', 'duty_log_entries', ['unit_id', 'occurred_at'], unique=False)
    op.create_table('duty_presence_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('by_unit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('asked_by', sa.String(length=60), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=60), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['by_unit_id'], ['units.id'], name=op.f('fk_duty_presence_checks_by_unit_id_units')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_duty_presence_checks_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_duty_presence_checks_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_presence_checks'))
    )
    op.create_index('ix_presence_checks_state_due', 'duty_presence_checks', ['state', 'due_at'], unique=False)
    op.create_index('ix_presence_checks_unit_asked', 'duty_presence_checks', ['unit_id', 'asked_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_presence_checks_unit_asked', table_name='duty_presence_checks')
    op.drop_index('ix_presence_checks_state_due', table_name='duty_presence_checks')
    op.drop_table('duty_presence_checks')
    op.drop_index('ix_duty_log_unit_occurred', table_name='duty_log_entries')
    op.drop_table('duty_log_entries')
    op.drop_index('ix_duty_handovers_unit_offered', table_name='duty_handovers')
    op.drop_table('duty_handovers')
