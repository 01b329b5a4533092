"""obligation pages by (due_date, opened_at, id) (issue 13): new rows go to the end of their due day's range

The four list indexes of 0005 ended in ``(due_date, id)``: with a hash id, every new obligation landed at a
random place among the thousands due the same day, so each insert dirtied its own index page in each of the
four, and ingest slowed as the tables grew (a million-obligation SQLite build wrote about 90 KB per event).
Ordered by when each obligation was opened within its due day, a batch's rows land together at the end of
their day's range. The pages' order and their cursors follow (``models.sql.queries.OBLIGATION_ORDER``).

Revision ID: 0007
Revises: 0006 (the delivery log at scale)
Create Date: 2026-12-02 19:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEXES = {  # name: the filter's columns, followed by the page order
    'ix_obligations_department_status_due': ['department', 'status'],
    'ix_obligations_department_due': ['department'],
    'ix_obligations_status_due': ['status'],
    'ix_obligations_due': [],
}


def _rebuild(order: list[str]) -> None:
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns + order, unique=False)


def upgrade() -> None:
    _rebuild(['due_date', 'opened_at', 'id'])


def downgrade() -> None:
    _rebuild(['due_date', 'id'])
