"""services: matters, bundles, windows, service cases (on events/tasks), materials, visits, ratings (好差评),
verifications, their timeline, settings, enterprises and their calls (企业吹哨)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 02:32:13.497873
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_bundles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_bundles')),
    sa.UniqueConstraint('code', name=op.f('uq_service_bundles_code'))
    )
    op.create_table('service_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bad_rating_limit_days', sa.Integer(), nullable=False),
    sa.Column('callback_limit_days', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_settings'))
    )
    op.create_table('service_timeline',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=14), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_timeline'))
    )
    with op.batch_alter_table('service_timeline', schema=None) as batch_op:
        batch_op.create_index('ix_service_timeline_subject', ['subject', 'subject_id', 'id'], unique=False)

    op.create_table('service_matters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('statutory_days', sa.Integer(), nullable=False),
    sa.Column('places', sa.String(length=60), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('guide', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_service_matters_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_matters')),
    sa.UniqueConstraint('code', name=op.f('uq_service_matters_code'))
    )
    with op.batch_alter_table('service_matters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_matters_unit_id'), ['unit_id'], unique=False)

    op.create_table('service_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_service_windows_area_id_areas')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_service_windows_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_windows')),
    sa.UniqueConstraint('code', name=op.f('uq_service_windows_code'))
    )
    with op.batch_alter_table('service_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_windows_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_windows_unit_id'), ['unit_id'], unique=False)

    op.create_table('service_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('matter_code', sa.String(length=40), nullable=True),
    sa.Column('bundle_code', sa.String(length=40), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('clerk_person_id', sa.Integer(), nullable=True),
    sa.Column('clerk', sa.String(length=60), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('applicant_kind', sa.String(length=12), nullable=False),
    sa.Column('applicant_name', sa.String(length=100), nullable=False),
    sa.Column('applicant_id_number', sa.String(length=30), nullable=True),
    sa.Column('applicant_phone', sa.String(length=30), nullable=True),
    sa.Column('proxy', sa.JSON(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('stages', sa.Integer(), nullable=False),
    sa.Column('current_stage', sa.Integer(), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('promised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collect_at', sa.String(length=200), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clerk_person_id'], ['people.id'], name=op.f('fk_service_cases_clerk_person_id_people')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_service_cases_event_id_events')),
    sa.ForeignKeyConstraint(['window_id'], ['service_windows.id'], name=op.f('fk_service_cases_window_id_service_windows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_cases')),
    sa.UniqueConstraint('event_id', name=op.f('uq_service_cases_event_id')),
    sa.UniqueConstraint('number', name=op.f('uq_service_cases_number'))
    )
    with op.batch_alter_table('service_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_cases_accepted_at'), ['accepted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_cases_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_cases_bundle_code'), ['bundle_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_cases_clerk_person_id'), ['clerk_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_cases_matter_code'), ['matter_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_cases_state'), ['state'], unique=False)
        batch_op.create_index('ix_service_cases_window_accepted', ['window_id', 'accepted_at'], unique=False)

    op.create_table('service_enterprises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('officer_person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_service_enterprises_area_id_areas')),
    sa.ForeignKeyConstraint(['officer_person_id'], ['people.id'], name=op.f('fk_service_enterprises_officer_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_enterprises')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_service_enterprises_credit_code'))
    )
    with op.batch_alter_table('service_enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_enterprises_officer_person_id'), ['officer_person_id'], unique=False)

    op.create_table('service_visits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('clerk_person_id', sa.Integer(), nullable=True),
    sa.Column('clerk', sa.String(length=60), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('matter_code', sa.String(length=40), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clerk_person_id'], ['people.id'], name=op.f('fk_service_visits_clerk_person_id_people')),
    sa.ForeignKeyConstraint(['window_id'], ['service_windows.id'], name=op.f('fk_service_visits_window_id_service_windows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_visits'))
    )
    with op.batch_alter_table('service_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_visits_window_id'), ['window_id'], unique=False)

    op.create_table('service_case_materials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('matter_code', sa.String(length=40), nullable=False),
    sa.Column('material_code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supplied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attachment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['service_cases.id'], name=op.f('fk_service_case_materials_case_id_service_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_case_materials'))
    )
    with op.batch_alter_table('service_case_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_case_materials_case_id'), ['case_id'], unique=False)

    op.create_table('service_case_shares',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('matter_codes', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['service_cases.id'], name=op.f('fk_service_case_shares_case_id_service_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_service_case_shares_task_id_tasks')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_service_case_shares_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_case_shares')),
    sa.UniqueConstraint('task_id', name=op.f('uq_service_case_shares_task_id'))
    )
    with op.batch_alter_table('service_case_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_case_shares_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_case_shares_unit_id'), ['unit_id'], unique=False)

    op.create_table('service_ratings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('visit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.String(length=8), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('named', sa.Boolean(), nullable=False),
    sa.Column('rater_name', sa.String(length=100), nullable=True),
    sa.Column('rater_phone', sa.String(length=30), nullable=True),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('clerk_person_id', sa.Integer(), nullable=True),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('subject_code', sa.String(length=40), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['service_cases.id'], name=op.f('fk_service_ratings_case_id_service_cases')),
    sa.ForeignKeyConstraint(['visit_id'], ['service_visits.id'], name=op.f('fk_service_ratings_visit_id_service_visits')),
    sa.ForeignKeyConstraint(['window_id'], ['service_windows.id'], name=op.f('fk_service_ratings_window_id_service_windows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_ratings')),
    sa.UniqueConstraint('case_id', name=op.f('uq_service_ratings_case_id')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_service_ratings_visit_id'))
    )
    with op.batch_alter_table('service_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_ratings_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_ratings_grade'), ['grade'], unique=False)
        batch_op.create_index('ix_service_ratings_rated', ['rated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_ratings_subject_code'), ['subject_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_ratings_window_id'), ['window_id'], unique=False)

    op.create_table('service_whistles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('officer_person_id', sa.Integer(), nullable=False),
    sa.Column('response_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['service_enterprises.id'], name=op.f('fk_service_whistles_enterprise_id_service_enterprises')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_service_whistles_event_id_events')),
    sa.ForeignKeyConstraint(['officer_person_id'], ['people.id'], name=op.f('fk_service_whistles_officer_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_whistles')),
    sa.UniqueConstraint('event_id', name=op.f('uq_service_whistles_event_id'))
    )
    with op.batch_alter_table('service_whistles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_whistles_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('service_verifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rating_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=100), nullable=False),
    sa.Column('named', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('limit_days', sa.Integer(), nullable=False),
    sa.Column('callback_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_back_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('callback_note', sa.Text(), nullable=True),
    sa.Column('classification', sa.String(length=10), nullable=True),
    sa.Column('appeal', sa.Text(), nullable=True),
    sa.Column('appeal_decision', sa.String(length=10), nullable=True),
    sa.Column('rectification', sa.Text(), nullable=True),
    sa.Column('rectified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('rater_satisfied', sa.Boolean(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['service_ratings.id'], name=op.f('fk_service_verifications_rating_id_service_ratings')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_service_verifications_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_verifications')),
    sa.UniqueConstraint('rating_id', name=op.f('uq_service_verifications_rating_id'))
    )
    with op.batch_alter_table('service_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_verifications_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_verifications_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_verifications_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_verifications_unit_id'), ['unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('service_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_verifications_unit_id'))
        batch_op.drop_index(batch_op.f('ix_service_verifications_state'))
        batch_op.drop_index(batch_op.f('ix_service_verifications_due_at'))
        batch_op.drop_index(batch_op.f('ix_service_verifications_area_path'))

    op.drop_table('service_verifications')
    with op.batch_alter_table('service_whistles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_whistles_enterprise_id'))

    op.drop_table('service_whistles')
    with op.batch_alter_table('service_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_ratings_window_id'))
        batch_op.drop_index(batch_op.f('ix_service_ratings_subject_code'))
        batch_op.drop_index('ix_service_ratings_rated')
        batch_op.drop_index(batch_op.f('ix_service_ratings_grade'))
        batch_op.drop_index(batch_op.f('ix_service_ratings_area_path'))

    op.drop_table('service_ratings')
    with op.batch_alter_table('service_case_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_case_shares_unit_id'))
        batch_op.drop_index(batch_op.f('ix_service_case_shares_case_id'))

    op.drop_table('service_case_shares')
    with op.batch_alter_table('service_case_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_case_materials_case_id'))

    op.drop_table('service_case_materials')
    with op.batch_alter_table('service_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_visits_window_id'))

    op.drop_table('service_visits')
    with op.batch_alter_table('service_enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_enterprises_officer_person_id'))

    op.drop_table('service_enterprises')
    with op.batch_alter_table('service_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_service_cases_window_accepted')
        batch_op.drop_index(batch_op.f('ix_service_cases_state'))
        batch_op.drop_index(batch_op.f('ix_service_cases_matter_code'))
        batch_op.drop_index(batch_op.f('ix_service_cases_clerk_person_id'))
        batch_op.drop_index(batch_op.f('ix_service_cases_bundle_code'))
        batch_op.drop_index(batch_op.f('ix_service_cases_area_path'))
        batch_op.drop_index(batch_op.f('ix_service_cases_accepted_at'))

    op.drop_table('service_cases')
    with op.batch_alter_table('service_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_windows_unit_id'))
        batch_op.drop_index(batch_op.f('ix_service_windows_area_path'))

    op.drop_table('service_windows')
    with op.batch_alter_table('service_matters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_matters_unit_id'))

    op.drop_table('service_matters')
    with op.batch_alter_table('service_timeline', schema=None) as batch_op:
        batch_op.drop_index('ix_service_timeline_subject')

    op.drop_table('service_timeline')
    op.drop_table('service_settings')
    op.drop_table('service_bundles')
