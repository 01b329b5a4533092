"""reads at scale (issue 13): list indexes in page order, maintained counts for totals, summaries, the evaluation

Indexes that serve each list filter in its page order ((due_date, id) for obligations, (detected_at desc, id)
for violations), so a first page, a keyset page (``after=``) and an offset page (index-only) stay fast with a
million rows; ``obligation_counts`` (department x year of start day x kind x status x on_time, with the working
days taken), ``violation_counts`` (department x year of event day x rule) and ``violation_article_counts``,
filled here from the stored rows and then kept by ``models.sql.counts`` in the transaction of each change.

Revision ID: 0005
Revises: 0004 (reschedule jobs)
Create Date: 2026-12-02 02:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('obligation_counts',
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('on_time', sa.SmallInteger(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('taken_sum', sa.BigInteger(), nullable=False),
    sa.Column('taken_count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('department', 'year', 'kind', 'status', 'on_time', name=op.f('pk_obligation_counts'))
    )
    op.create_table('violation_counts',
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('department', 'year', 'rule', name=op.f('pk_violation_counts'))
    )
    op.create_table('violation_article_counts',
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('article', sa.String(length=64), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('department', 'year', 'article', name=op.f('pk_violation_article_counts'))
    )
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_department')
        batch_op.create_index('ix_obligations_department_status_due', ['department', 'status', 'due_date', 'id'],
                              unique=False)
        batch_op.create_index('ix_obligations_department_due', ['department', 'due_date', 'id'], unique=False)
        batch_op.create_index('ix_obligations_status_due', ['status', 'due_date', 'id'], unique=False)
        batch_op.create_index('ix_obligations_due', ['due_date', 'id'], unique=False)
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('ix_violations_department')
        batch_op.create_index('ix_violations_detected', [sa.text('detected_at DESC'), 'id'], unique=False)
        batch_op.create_index('ix_violations_department_detected', ['department', sa.text('detected_at DESC'), 'id'],
                              unique=False)
        batch_op.create_index('ix_violations_rule_detected', ['rule', sa.text('detected_at DESC'), 'id'],
                              unique=False)
        batch_op.create_index('ix_violations_department_rule_detected',
                              ['department', 'rule', sa.text('detected_at DESC'), 'id'], unique=False)
    with op.batch_alter_table('unassessed_events', schema=None) as batch_op:
        batch_op.create_index('ix_unassessed_events_recorded', ['recorded_at', 'source', 'event_id'], unique=False)
    from models.sql.counts import rebuild_counts  # the one definition of what is counted

    rebuild_counts(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('unassessed_events', schema=None) as batch_op:
        batch_op.drop_index('ix_unassessed_events_recorded')
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('ix_violations_department_rule_detected')
        batch_op.drop_index('ix_violations_rule_detected')
        batch_op.drop_index('ix_violations_department_detected')
        batch_op.drop_index('ix_violations_detected')
        batch_op.create_index('ix_violations_department', ['department'], unique=False)
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_due')
        batch_op.drop_index('ix_obligations_status_due')
        batch_op.drop_index('ix_obligations_department_due')
        batch_op.drop_index('ix_obligations_department_status_due')
        batch_op.create_index('ix_obligations_department', ['department', 'status', 'due_date'], unique=False)
    op.drop_table('violation_article_counts')
    op.drop_table('violation_counts')
    op.drop_table('obligation_counts')
