"""delivery log: one row per (notification, channel, recipient) (issue 14)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('notification_id', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=256), nullable=False),
        sa.Column('recipient_label', sa.Text(), nullable=False),
        sa.Column('department', sa.String(length=64), nullable=False),
        sa.Column('obligation_id', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=True),
        sa.Column('mentions', sa.JSON(), nullable=False),
        sa.Column('greeting', sa.Text(), nullable=False),
        sa.Column('notice', sa.JSON(), nullable=True),
        sa.Column('cloudevent', sa.JSON(), nullable=True),
        sa.Column('digest_key', sa.String(length=512), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=256), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
        sa.UniqueConstraint('notification_id', 'channel', 'recipient', name='uq_deliveries_key'),
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['status', 'not_before'], unique=False)
        batch_op.create_index('ix_deliveries_robot_rate', ['channel', 'recipient', 'last_attempt_at'], unique=False)
        batch_op.create_index('ix_deliveries_digest', ['digest_key', 'status'], unique=False)
        batch_op.create_index('ix_deliveries_obligation', ['obligation_id'], unique=False)
        batch_op.create_index('ix_deliveries_department', ['department', 'status'], unique=False)


def downgrade() -> None:
    op.drop_table('deliveries')
