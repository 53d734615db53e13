"""the town (issue #20): tasks to named people (事件责任人) and the town's boards, posts and duties

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 08:20:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # plain ALTER TABLE … ADD COLUMN on both engines (no foreign key, so SQLite need not copy the table)
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('assigned_at', UTC_TIME, nullable=True))
    op.create_index('ix_tasks_assignee_state', 'tasks', ['assignee_id', 'state'], unique=False,
                    postgresql_where=sa.text('assignee_id IS NOT NULL'),
                    sqlite_where=sa.text('assignee_id IS NOT NULL'))
    op.create_table('town_board_names',
    sa.Column('key', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_town_board_names')),
    )
    op.create_table('town_boards',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('town_area_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=30), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('leader_person_id', sa.Integer(), nullable=True),
    sa.Column('duties', sa.JSON(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['leader_person_id'], ['people.id'], name=op.f('fk_town_boards_leader_person_id_people')),
    sa.ForeignKeyConstraint(['town_area_id'], ['areas.id'], name=op.f('fk_town_boards_town_area_id_areas')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_town_boards_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_town_boards')),
    sa.UniqueConstraint('town_area_id', 'key', name=op.f('uq_town_boards_town_area_id')),
    )
    op.create_index(op.f('ix_town_boards_town_area_id'), 'town_boards', ['town_area_id'], unique=False)
    op.create_table('board_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('board_unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['board_unit_id'], ['town_boards.unit_id'],
                            name=op.f('fk_board_posts_board_unit_id_town_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_board_posts_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_posts')),
    )
    op.create_index(op.f('ix_board_posts_board_unit_id'), 'board_posts', ['board_unit_id'], unique=False)
    op.create_index(op.f('ix_board_posts_person_id'), 'board_posts', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_board_posts_person_id'), table_name='board_posts')
    op.drop_index(op.f('ix_board_posts_board_unit_id'), table_name='board_posts')
    op.drop_table('board_posts')
    op.drop_index(op.f('ix_town_boards_town_area_id'), table_name='town_boards')
    op.drop_table('town_boards')
    op.drop_table('town_board_names')
    op.drop_index('ix_tasks_assignee_state', table_name='tasks')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('assigned_at')
        batch.drop_column('assignee_id')
