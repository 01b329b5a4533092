"""reschedule jobs: the calendar the obligations agree with, a running job's queue, the index it queries (issue 13)

A reschedule after a calendar change examines only the open obligations whose counting interval
(start_day, due_date] contains a changed day: the index (status, due_date, start_day) answers
"open, due on or after the run's first day, started before its last"; the candidates are queued
per job and examined in keyset pages, the job's cursor committed with each page.

Revision ID: 0004
Revises: 0003 (the catalog register)
Create Date: 2026-12-02 02:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reschedule_jobs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('calendar_first_day', sa.Date(), nullable=False),
        sa.Column('calendar_working', sa.LargeBinary(), nullable=False),
        sa.Column('calendar_unsettled', sa.LargeBinary(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('changed', sa.JSON(), nullable=True),
        sa.Column('candidates', sa.Integer(), nullable=False),
        sa.Column('examined', sa.Integer(), nullable=False),
        sa.Column('moved', sa.Integer(), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('cursor', sa.String(length=64), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reschedule_jobs')),
    )
    op.create_table(
        'reschedule_candidates',
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('obligation_id', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('job_id', 'obligation_id', name=op.f('pk_reschedule_candidates')),
    )
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_index('ix_obligations_reschedule', ['status', 'due_date', 'start_day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_reschedule')
    op.drop_table('reschedule_candidates')
    op.drop_table('reschedule_jobs')
