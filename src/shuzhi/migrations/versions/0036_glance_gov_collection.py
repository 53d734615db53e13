"""collection governance and the rectification loop (issue #22): readings in per indicator and day, the
online plan (成熟一批、上线一批), and risk point rectifications (found → measures → done → verified)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 11:30:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('indicator_intake_days',
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_indicator_intake_days_indicator_id_indicators'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('indicator_id', 'day', name=op.f('pk_indicator_intake_days')),
    )
    op.create_table('indicator_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_code', sa.String(length=40), nullable=False),
    sa.Column('batch', sa.String(length=60), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('online_on', sa.Date(), nullable=True),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_plan')),
    sa.UniqueConstraint('indicator_code', name=op.f('uq_indicator_plan_indicator_code')),
    )
    op.create_table('risk_point_rectifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_point_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('finding', sa.Text(), nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('found_by', sa.String(length=60), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=60), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['risk_point_id'], ['risk_points.id'],
                            name=op.f('fk_risk_point_rectifications_risk_point_id_risk_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_point_rectifications')),
    )
    op.create_index(op.f('ix_risk_point_rectifications_risk_point_id'), 'risk_point_rectifications',
                    ['risk_point_id'], unique=False)
    op.create_index('ix_risk_point_rectifications_open', 'risk_point_rectifications', ['state', 'deadline_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_risk_point_rectifications_open', table_name='risk_point_rectifications')
    op.drop_index(op.f('ix_risk_point_rectifications_risk_point_id'), table_name='risk_point_rectifications')
    op.drop_table('risk_point_rectifications')
    op.drop_table('indicator_plan')
    op.drop_table('indicator_intake_days')
