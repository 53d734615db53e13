"""ledgers: ledgers, items, progress reports and slots, evidence, timeline, clocks, bulletins, event links

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:22:04.433541
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_clock_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_clock_steps')),
    sa.UniqueConstraint('item_id', 'kind', 'step', 'deadline', name='uq_ledger_clock_steps_key')
    )
    with op.batch_alter_table('ledger_clock_steps', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_clock_steps_unit_done', ['unit_id', 'done_at'], unique=False)

    op.create_table('ledger_timeline',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_timeline'))
    )
    with op.batch_alter_table('ledger_timeline', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_timeline_item', ['item_id', 'id'], unique=False)
        batch_op.create_index('ix_ledger_timeline_ledger_action', ['ledger_id', 'action', 'at'], unique=False)

    op.create_table('ledgers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_unit_id', sa.Integer(), nullable=False),
    sa.Column('sign_off_unit_id', sa.Integer(), nullable=True),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('schedule', sa.String(length=10), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('import_mapping', sa.JSON(), nullable=False),
    sa.Column('unit_aliases', sa.JSON(), nullable=False),
    sa.Column('import_layout', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_unit_id'], ['units.id'], name=op.f('fk_ledgers_owner_unit_id_units')),
    sa.ForeignKeyConstraint(['sign_off_unit_id'], ['units.id'], name=op.f('fk_ledgers_sign_off_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledgers')),
    sa.UniqueConstraint('code', name=op.f('uq_ledgers_code'))
    )
    with op.batch_alter_table('ledgers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledgers_owner_unit_id'), ['owner_unit_id'], unique=False)

    op.create_table('ledger_bulletins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=12), nullable=False),
    sa.Column('period', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['ledger_id'], ['ledgers.id'], name=op.f('fk_ledger_bulletins_ledger_id_ledgers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_bulletins'))
    )
    with op.batch_alter_table('ledger_bulletins', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_bulletins_ledger', ['ledger_id', 'id'], unique=False)

    op.create_table('ledger_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('lead_unit_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('leader_name', sa.String(length=50), nullable=True),
    sa.Column('leader_person_id', sa.Integer(), nullable=True),
    sa.Column('person_name', sa.String(length=50), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('milestones', sa.JSON(), nullable=False),
    sa.Column('time_limit', sa.Date(), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('own_progress', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('finding', sa.Text(), nullable=True),
    sa.Column('proposer', sa.String(length=100), nullable=True),
    sa.Column('proposal_kind', sa.String(length=12), nullable=True),
    sa.Column('reply_due', sa.Date(), nullable=True),
    sa.Column('reply_attachment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('satisfaction', sa.String(length=12), nullable=True),
    sa.Column('sign_off_unit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=60), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], name=op.f('fk_ledger_items_lead_unit_id_units')),
    sa.ForeignKeyConstraint(['leader_person_id'], ['people.id'], name=op.f('fk_ledger_items_leader_person_id_people')),
    sa.ForeignKeyConstraint(['ledger_id'], ['ledgers.id'], name=op.f('fk_ledger_items_ledger_id_ledgers')),
    sa.ForeignKeyConstraint(['parent_id'], ['ledger_items.id'], name=op.f('fk_ledger_items_parent_id_ledger_items')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_ledger_items_person_id_people')),
    sa.ForeignKeyConstraint(['sign_off_unit_id'], ['units.id'], name=op.f('fk_ledger_items_sign_off_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_items')),
    sa.UniqueConstraint('ledger_id', 'number', name='uq_ledger_items_ledger_number')
    )
    with op.batch_alter_table('ledger_items', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_items_area_path', ['area_path'], unique=False)
        batch_op.create_index('ix_ledger_items_ledger_lead', ['ledger_id', 'lead_unit_id'], unique=False)
        batch_op.create_index('ix_ledger_items_ledger_limit', ['ledger_id', 'time_limit'], unique=False)
        batch_op.create_index('ix_ledger_items_ledger_state', ['ledger_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_items_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_ledger_items_path', ['path'], unique=False)

    op.create_table('ledger_attachments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_items.id'], name=op.f('fk_ledger_attachments_item_id_ledger_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_attachments'))
    )
    with op.batch_alter_table('ledger_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_attachments_item_id'), ['item_id'], unique=False)

    op.create_table('ledger_clocks',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_items.id'], name=op.f('fk_ledger_clocks_item_id_ledger_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'kind', name=op.f('pk_ledger_clocks'))
    )
    with op.batch_alter_table('ledger_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_clocks_next_due', ['next_due_at'], unique=False)

    op.create_table('ledger_event_links',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('relation', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_ledger_event_links_event_id_events')),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_items.id'], name=op.f('fk_ledger_event_links_item_id_ledger_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'event_id', name=op.f('pk_ledger_event_links'))
    )
    with op.batch_alter_table('ledger_event_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_event_links_event_id'), ['event_id'], unique=False)

    op.create_table('ledger_item_assists',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_items.id'], name=op.f('fk_ledger_item_assists_item_id_ledger_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_ledger_item_assists_unit_id_units')),
    sa.PrimaryKeyConstraint('item_id', 'unit_id', name=op.f('pk_ledger_item_assists'))
    )
    with op.batch_alter_table('ledger_item_assists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_item_assists_unit_id'), ['unit_id'], unique=False)

    op.create_table('ledger_report_slots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ledger_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=24), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_items.id'], name=op.f('fk_ledger_report_slots_item_id_ledger_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_report_slots')),
    sa.UniqueConstraint('item_id', 'period', name='uq_ledger_report_slots_item_period')
    )
    with op.batch_alter_table('ledger_report_slots', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_report_slots_due', ['due_at'], unique=False)
        batch_op.create_index('ix_ledger_report_slots_unit_due', ['unit_id', 'due_at'], unique=False)

    op.create_table('ledger_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=60), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('milestones_done', sa.JSON(), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('attachment_ids', sa.JSON(), nullable=False),
    sa.Column('periods', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_items.id'], name=op.f('fk_ledger_reports_item_id_ledger_items')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_ledger_reports_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_reports'))
    )
    with op.batch_alter_table('ledger_reports', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_reports_item', ['item_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_reports_item')

    op.drop_table('ledger_reports')
    with op.batch_alter_table('ledger_report_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_report_slots_unit_due')
        batch_op.drop_index('ix_ledger_report_slots_due')

    op.drop_table('ledger_report_slots')
    with op.batch_alter_table('ledger_item_assists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_item_assists_unit_id'))

    op.drop_table('ledger_item_assists')
    with op.batch_alter_table('ledger_event_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_event_links_event_id'))

    op.drop_table('ledger_event_links')
    with op.batch_alter_table('ledger_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_clocks_next_due')

    op.drop_table('ledger_clocks')
    with op.batch_alter_table('ledger_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_attachments_item_id'))

    op.drop_table('ledger_attachments')
    with op.batch_alter_table('ledger_items', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_items_path')
        batch_op.drop_index(batch_op.f('ix_ledger_items_parent_id'))
        batch_op.drop_index('ix_ledger_items_ledger_state')
        batch_op.drop_index('ix_ledger_items_ledger_limit')
        batch_op.drop_index('ix_ledger_items_ledger_lead')
        batch_op.drop_index('ix_ledger_items_area_path')

    op.drop_table('ledger_items')
    with op.batch_alter_table('ledger_bulletins', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_bulletins_ledger')

    op.drop_table('ledger_bulletins')
    with op.batch_alter_table('ledgers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledgers_owner_unit_id'))

    op.drop_table('ledgers')
    with op.batch_alter_table('ledger_timeline', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_timeline_ledger_action')
        batch_op.drop_index('ix_ledger_timeline_item')

    op.drop_table('ledger_timeline')
    with op.batch_alter_table('ledger_clock_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_clock_steps_unit_done')

    op.drop_table('ledger_clock_steps')
