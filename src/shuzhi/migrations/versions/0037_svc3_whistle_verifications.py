"""An enterprise's 差评 of its call's handling opens a verification like a service 差评: the verification
names either a service rating or an enterprise's two-way rating (service_verifications.whistle_rating_id,
rating_id becomes optional)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 12:35:00.000000

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_verifications', schema=None) as batch_op:
        batch_op.alter_column('rating_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=True)
        batch_op.add_column(sa.Column('whistle_rating_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_service_verifications_whistle_rating_id_service_whistle_ratings'),
            'service_whistle_ratings', ['whistle_rating_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_service_verifications_whistle_rating_id'),
                                          ['whistle_rating_id'])


def downgrade() -> None:
    op.execute("DELETE FROM service_timeline WHERE subject = 'verification' AND subject_id IN "
               "(SELECT id FROM service_verifications WHERE whistle_rating_id IS NOT NULL)")
    op.execute("DELETE FROM service_verifications WHERE whistle_rating_id IS NOT NULL")
    with op.batch_alter_table('service_verifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_service_verifications_whistle_rating_id'), type_='unique')
        batch_op.drop_constraint(
            batch_op.f('fk_service_verifications_whistle_rating_id_service_whistle_ratings'), type_='foreignkey')
        batch_op.drop_column('whistle_rating_id')
        batch_op.alter_column('rating_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=False)
