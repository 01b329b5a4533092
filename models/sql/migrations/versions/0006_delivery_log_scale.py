"""the delivery log at scale (issue 13): pages newest first under each filter, maintained counts for its totals

``GET /api/deliveries`` pages in id order, newest first (a row's id is fixed when it is written; ordering by
the time of its last update let rows move between pages while a client walked them), with a ``next`` cursor:
an index per filter in that order. ``delivery_counts`` (department x channel x status), filled here from the
log and then kept by ``models.sql.deliveries`` in the transaction of each change, gives the list's totals, the
overview's counts and the metrics' gauge without counting the log's rows.

Revision ID: 0006
Revises: 0005 (reads at scale)
Create Date: 2026-12-02 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_counts',
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('department', 'channel', 'status', name=op.f('pk_delivery_counts'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_obligation')
        batch_op.drop_index('ix_deliveries_department')
        batch_op.create_index('ix_deliveries_obligation', ['obligation_id', 'id'], unique=False)
        batch_op.create_index('ix_deliveries_department', ['department', 'status', 'id'], unique=False)
        batch_op.create_index('ix_deliveries_department_id', ['department', 'id'], unique=False)
        batch_op.create_index('ix_deliveries_status_id', ['status', 'id'], unique=False)
    from models.sql.deliveries import rebuild_delivery_counts  # the one definition of what is counted

    rebuild_delivery_counts(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_id')
        batch_op.drop_index('ix_deliveries_department_id')
        batch_op.drop_index('ix_deliveries_department')
        batch_op.drop_index('ix_deliveries_obligation')
        batch_op.create_index('ix_deliveries_department', ['department', 'status'], unique=False)
        batch_op.create_index('ix_deliveries_obligation', ['obligation_id'], unique=False)
    op.drop_table('delivery_counts')
