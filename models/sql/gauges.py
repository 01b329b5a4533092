"""What SQL says at a moment, for ``GET /metrics`` and the health checks: small grouped counts, bounded in time.

``bounded_session(engine, seconds)``: a read session whose statements give up waiting for locks after
``seconds`` (PostgreSQL ``statement_timeout``, SQLite's busy timeout), so a database that is locked answers
with an error instead of never. (A network that hangs is the caller's deadline to handle: ``api.bounded``.)
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models.obligations import UNFINISHED
from models.sql import tables as t
from models.sql.deliveries import delivery_counts_by_channel
from models.sql.engine import SQLITE_BUSY_TIMEOUT_MS


@contextmanager
def bounded_session(engine: Engine, seconds: float) -> Iterator[Session]:
    """A session for reads whose lock waits end after ``seconds`` (its transaction only)."""
    milliseconds = max(1, int(seconds * 1000))
    with Session(engine) as session:
        dialect = engine.dialect.name
        if dialect == "postgresql":
            session.execute(sa.text(f"SET LOCAL statement_timeout = {milliseconds}"))
            session.execute(sa.text(f"SET LOCAL lock_timeout = {milliseconds}"))
            yield session
        elif dialect == "sqlite":
            connection = session.connection()
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
            try:
                yield session
            finally:  # the pooled connection goes back with the engine's own busy timeout
                try:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                except Exception:  # noqa: BLE001 - a broken connection is discarded by the pool anyway
                    pass
        else:
            yield session


def select_one(session: Session) -> None:
    """One round trip (the database answers)."""
    session.execute(sa.text("select 1")).scalar_one()


@dataclass
class Gauges:
    """The counts ``GET /metrics`` shows from SQL."""

    outbox_pending: int = 0
    outbox_oldest_created_at: datetime | None = None
    open_obligations: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, status) -> count
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> count


def gauges(session: Session) -> Gauges:
    """Outbox backlog and its oldest row, unfinished obligations by kind and status, deliveries by channel and
    status: three grouped counts (the outbox's and the obligations' on their status indexes)."""
    o = t.outbox.c
    pending, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(o.created_at))
                                      .where(o.sent.is_(False))).one()
    if oldest is not None and oldest.tzinfo is None:  # min() of a UTCDateTime column comes back as text on SQLite
        oldest = t.UTCDateTime().process_result_value(_as_datetime(oldest), session.bind.dialect)
    b = t.obligations.c
    obligations = {(kind, status): count for kind, status, count in session.execute(
        sa.select(b.kind, b.status, sa.func.count()).where(b.status.in_(UNFINISHED)).group_by(b.kind, b.status))}
    deliveries = delivery_counts_by_channel(session)
    return Gauges(outbox_pending=int(pending or 0), outbox_oldest_created_at=oldest, open_obligations=obligations,
                  deliveries=deliveries)


def _as_datetime(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
