"""catalog register (issue 12): resources, their history, held events; resource columns on obligations/violations

The register (目录台账) of each department's catalog with the 第八条 attributes and the
scheduler's indexed next_period_start; the history of its changes; data activities held
until their resource appears; resource_code/period on obligations and obligation/resource_code/period
on violations.

Revision ID: 0003
Revises: 0002 (the delivery log)
Create Date: 2026-12-01 22:51:21.068445
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('resource_code', sa.String(length=256), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_id', sa.String(length=256), nullable=False),
    sa.Column('event_source', sa.String(length=512), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('catalog_version', sa.String(length=256), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_history'))
    )
    with op.batch_alter_table('catalog_history', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_history_resource', ['department', 'resource_code', 'id'], unique=False)

    op.create_table('catalog_resources',
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=256), nullable=False),
    sa.Column('name', sa.String(length=1000), nullable=True),
    sa.Column('classification', sa.String(length=1000), nullable=True),
    sa.Column('responsible_party', sa.String(length=1000), nullable=True),
    sa.Column('format', sa.String(length=1000), nullable=True),
    sa.Column('update_cycle', sa.String(length=32), nullable=True),
    sa.Column('share_type', sa.String(length=32), nullable=True),
    sa.Column('share_channel', sa.String(length=64), nullable=True),
    sa.Column('open_type', sa.String(length=32), nullable=True),
    sa.Column('open_channel', sa.String(length=64), nullable=True),
    sa.Column('usage_requirements', sa.Text(), nullable=True),
    sa.Column('contains_personal_info', sa.Boolean(), nullable=True),
    sa.Column('desensitized', sa.Boolean(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('catalog_version', sa.String(length=256), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('changed_by', sa.String(length=256), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cycle_source', sa.String(length=512), nullable=True),
    sa.Column('cycle_event_id', sa.String(length=256), nullable=True),
    sa.Column('cycle_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_period', sa.String(length=16), nullable=True),
    sa.Column('next_period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_aggregated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_aggregated_period', sa.String(length=16), nullable=True),
    sa.Column('last_opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('department', 'code', name=op.f('pk_catalog_resources'))
    )
    with op.batch_alter_table('catalog_resources', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_resources_next_period', ['next_period_start'], unique=False)

    op.create_table('held_events',
    sa.Column('source', sa.String(length=512), nullable=False),
    sa.Column('event_id', sa.String(length=256), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('resource_code', sa.String(length=256), nullable=False),
    sa.Column('type', sa.String(length=128), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unmatched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.Column('origin', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'event_id', name=op.f('pk_held_events'))
    )
    with op.batch_alter_table('held_events', schema=None) as batch_op:
        batch_op.create_index('ix_held_events_resource', ['department', 'resource_code'], unique=False)
        batch_op.create_index('ix_held_events_unmatched', ['unmatched_at'], unique=False)

    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource_code', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('period', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_obligations_resource', ['department', 'resource_code', 'kind'], unique=False)

    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('obligation', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('resource_code', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('period', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_violations_resource', ['department', 'resource_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('ix_violations_resource')
        batch_op.drop_column('period')
        batch_op.drop_column('resource_code')
        batch_op.drop_column('obligation')

    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_resource')
        batch_op.drop_column('period')
        batch_op.drop_column('resource_code')

    with op.batch_alter_table('held_events', schema=None) as batch_op:
        batch_op.drop_index('ix_held_events_unmatched')
        batch_op.drop_index('ix_held_events_resource')

    op.drop_table('held_events')
    with op.batch_alter_table('catalog_resources', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_resources_next_period')

    op.drop_table('catalog_resources')
    with op.batch_alter_table('catalog_history', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_history_resource')

    op.drop_table('catalog_history')
