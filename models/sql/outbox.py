"""The outbox as the relay sees it, and the leases that pick the one relaying worker.

How to call (each method is one short transaction of its own)::

    outbox = Outbox(engine)            # engine from config.bootstrap.build_engine(settings)
    if outbox.try_acquire_lease("relay", holder, ttl_seconds=15, now_utc=clock.now()):
        for message in outbox.pending(500):          # in id order
            ...send message.value to settings.topic(message.topic), key=message.key, headers=message.headers
        outbox.mark_sent([(message.id, partition, offset), ...])

After a crash the relay reads each partition from ``last_sent_offset(topic,
partition) + 1`` to the high-water mark and calls
``mark_sent_by_event_ids(topic, partition, {event_id: offset})`` for the
records it finds (the CloudEvents id is in the value), so nothing is sent
twice. When the broker lost what it had (a restarted in-memory broker),
``reconcile_partition`` marks what it no longer holds unsent. The lease is renewed by calling
``try_acquire_lease`` again before it expires; ``release_lease`` on shutdown.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models.sql import tables as t
from models.sql.engine import insert_ignoring_duplicates, write_transaction


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    topic: str  # logical name, without the configured prefix
    key: bytes | None
    value: bytes  # CloudEvents structured JSON, UTF-8
    headers: tuple[tuple[str, bytes], ...]
    event_id: str  # the CloudEvents id


def headers_to_json(headers: Iterable[tuple[str, bytes]]) -> list[list[str]]:
    return [[name, value.decode("utf-8")] for name, value in headers]


def headers_from_json(stored) -> tuple[tuple[str, bytes], ...]:
    if isinstance(stored, str):
        found = _HEADERS.get(stored)  # nearly every row stores the same one header
        if found is None:
            if len(_HEADERS) >= 256:
                _HEADERS.clear()
            found = _HEADERS[stored] = headers_from_json(json.loads(stored))
        return found
    return tuple((name, value.encode("utf-8")) for name, value in stored)


_HEADERS: dict[str, tuple[tuple[str, bytes], ...]] = {}


_MARK_SENT = (sa.update(t.outbox).where(t.outbox.c.id == sa.bindparam("outbox_id"))
              .values(sent=True, partition=sa.bindparam("sent_partition"), offset=sa.bindparam("sent_offset")))
_O = t.outbox.c
# The headers as their JSON text (CAST: the same on both backends), read through headers_from_json's memo.
_PENDING = (sa.select(_O.id, _O.topic, _O.key, _O.value, sa.cast(_O.headers, sa.Text), _O.event_id)
            .where(_O.sent.is_(False)).order_by(_O.id).limit(sa.bindparam("limit")))
MARK_SENT_PAGE = 1000  # rows per UPDATE (3,000 parameters: under SQLite's 32,766 and PostgreSQL's 65,535)


@lru_cache(maxsize=8)
def _mark_sent_page_sql(count: int, dialect: str) -> str:
    """One UPDATE for ``count`` (id, partition, offset) rows: a join on VALUES, not a statement per row."""
    if dialect == "sqlite":
        values = ", ".join(["(?, ?, ?)"] * count)
        # SQLite names the columns of VALUES column1..3; a statement that begins with WITH has no rowcount
        return (f'UPDATE outbox SET sent = 1, "partition" = v.column2, "offset" = v.column3 '
                f"FROM (VALUES {values}) AS v WHERE outbox.id = v.column1")
    values = ", ".join(["(%s, %s, %s)"] * count)
    return (f'UPDATE outbox SET sent = true, "partition" = v.p, "offset" = v.o FROM (VALUES {values}) '
            f"AS v(id, p, o) WHERE outbox.id = v.id")


class Outbox:
    def __init__(self, engine: Engine):
        self.engine = engine

    def pending(self, limit: int = 500) -> list[OutboxMessage]:
        """Unsent messages, oldest first."""
        with self.engine.connect() as conn:  # a read: never blocks writers
            rows = conn.execute(_PENDING, {"limit": limit}).all()
        return [OutboxMessage(id=row_id, topic=topic, key=key, value=bytes(value), headers=headers_from_json(headers),
                              event_id=event_id) for row_id, topic, key, value, headers, event_id in rows]

    def mark_sent(self, sent: Iterable[tuple[int, int, int]]) -> int:
        """Record (outbox id, partition, offset) for each message the broker acknowledged.

        One ``UPDATE ... FROM (VALUES ...)`` per ``MARK_SENT_PAGE`` rows, not a statement per row. On SQLite
        this also keeps the write lock short: an executemany released and took back the GIL at every row, so,
        beside the worker's event loop, marking ~1,500 rows held the lock from 9 to 347 ms
        (``benchmarks/pipeline_bench.py``) while the ingest writer waited for it.
        Returns how many rows were updated.
        """
        rows = [(int(outbox_id), int(partition), int(offset)) for outbox_id, partition, offset in sent]
        if not rows:
            return 0
        with write_transaction(self.engine) as conn:
            if conn.dialect.name in ("postgresql", "sqlite"):
                marked = 0
                for start in range(0, len(rows), MARK_SENT_PAGE):
                    page = rows[start:start + MARK_SENT_PAGE]
                    marked += conn.exec_driver_sql(_mark_sent_page_sql(len(page), conn.dialect.name),
                                                   tuple(value for row in page for value in row)).rowcount
                return marked
            result = conn.execute(_MARK_SENT, [{"outbox_id": i, "sent_partition": p, "sent_offset": o}
                                               for i, p, o in rows])
            return result.rowcount if conn.dialect.supports_sane_multi_rowcount else len(rows)

    def last_sent_offset(self, topic: str, partition: int) -> int | None:
        query = sa.select(sa.func.max(t.outbox.c.offset)).where(
            t.outbox.c.topic == topic, t.outbox.c.partition == partition, t.outbox.c.sent.is_(True))
        with self.engine.connect() as conn:  # a read: never blocks writers
            return conn.execute(query).scalar()

    def last_sent(self, topic: str, partition: int) -> tuple[int, str] | None:
        """(offset, event id) of the row recorded last in a partition, or None: what the broker must still hold."""
        query = (sa.select(t.outbox.c.offset, t.outbox.c.event_id)
                 .where(t.outbox.c.topic == topic, t.outbox.c.partition == partition, t.outbox.c.sent.is_(True))
                 .order_by(t.outbox.c.offset.desc(), t.outbox.c.id.desc()).limit(1))
        with self.engine.connect() as conn:  # a read: never blocks writers
            row = conn.execute(query).first()
        return None if row is None else (int(row[0]), row[1])

    def reconcile_partition(self, topic: str, partition: int, found: dict[str, int]) -> int:
        """After a broker reset: ``found`` (event id -> offset) is all the partition holds now.

        Every row recorded as sent to it that is not there is marked unsent (the relay sends it again),
        those found get their new offsets; one transaction. Returns how many rows were marked unsent.
        """
        with write_transaction(self.engine) as conn:
            was_sent = conn.execute(
                sa.update(t.outbox).where(t.outbox.c.topic == topic, t.outbox.c.partition == partition,
                                          t.outbox.c.sent.is_(True))
                .values(sent=False, partition=None, offset=None)).rowcount
            kept = 0
            for event_id, offset in found.items():
                kept += conn.execute(
                    sa.update(t.outbox).where(t.outbox.c.event_id == event_id, t.outbox.c.topic == topic)
                    .values(sent=True, partition=partition, offset=offset)).rowcount
        return max(0, was_sent - kept)

    def mark_sent_by_event_ids(self, topic: str, partition: int, found: dict[str, int]) -> int:
        """Mark as sent the messages found on the broker after a crash (event id -> offset)."""
        count = 0
        with write_transaction(self.engine) as conn:
            for event_id, offset in found.items():
                count += conn.execute(
                    sa.update(t.outbox).where(t.outbox.c.event_id == event_id, t.outbox.c.topic == topic,
                                              t.outbox.c.sent.is_(False))
                    .values(sent=True, partition=partition, offset=offset)).rowcount
        return count

    def pending_count(self) -> int:
        with self.engine.connect() as conn:  # a read: never blocks writers
            return conn.execute(sa.select(sa.func.count()).select_from(t.outbox)
                                .where(t.outbox.c.sent.is_(False))).scalar_one()

    def try_acquire_lease(self, name: str, holder: str, ttl_seconds: float, now_utc: datetime) -> bool:
        """Take or renew the lease ``name``; True when ``holder`` holds it until now + ttl."""
        with write_transaction(self.engine) as conn:
            return acquire_lease(conn, name, holder, ttl_seconds, now_utc)

    def release_lease(self, name: str, holder: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(sa.delete(t.leases).where(t.leases.c.name == name, t.leases.c.holder == holder))


def acquire_lease(conn: Connection, name: str, holder: str, ttl_seconds: float, now_utc: datetime) -> bool:
    expires = now_utc + timedelta(seconds=ttl_seconds)
    if insert_ignoring_duplicates(conn, t.leases, {"name": name, "holder": holder, "expires_at": expires}):
        return True
    result = conn.execute(
        sa.update(t.leases)
        .where(t.leases.c.name == name, sa.or_(t.leases.c.holder == holder, t.leases.c.expires_at <= now_utc))
        .values(holder=holder, expires_at=expires))
    return result.rowcount == 1
