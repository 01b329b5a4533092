"""The outbox relay against the real broker and the real outbox table (SQLite and PostgreSQL).

A crash between "the broker acknowledged" and "the offset was recorded" is
made by sending rows with a plain producer and leaving them unmarked: a new
relay must find them on the broker and must not send them again.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from models.sql.outbox import Outbox
from streams.broker import wait_until
from streams.relay import OutboxRelay, partition_for
from streams.topics import ensure_topics

pytestmark = pytest.mark.broker

TOPICS = ("catalog.obligations", "catalog.notifications.reminders")
PARTITIONS = 3


def add_rows(engine, start: int, count: int) -> None:
    rows = []
    for i in range(start, start + count):
        event_id = f"evt-{i}"
        rows.append({"event_id": event_id, "topic": TOPICS[i % 2], "key": f"D{i % 5}".encode(),
                     "value": json.dumps({"id": event_id, "n": i}).encode(), "headers": [["ce_id", event_id]],
                     "created_at": datetime.now(timezone.utc), "sent": False})
    with engine.begin() as conn:
        conn.execute(sa.insert(t.outbox), rows)


def read_all(bootstrap_servers: str, prefix: str, expected: int) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest",
                             enable_auto_commit=False, fetch_max_wait_ms=10)
    consumer.assign([TopicPartition(prefix + topic, p) for topic in TOPICS for p in range(PARTITIONS)])
    records = []

    def enough():
        for batch in consumer.poll(timeout_ms=100).values():
            records.extend(batch)
        return len(records) >= expected

    try:
        wait_until(enough, 30, what=f"{expected} records")
        consumer.poll(timeout_ms=300)  # anything beyond the expected count would show up here
        for batch in consumer.poll(timeout_ms=300).values():
            records.extend(batch)
    finally:
        consumer.close()
    return records


def run_relay(relay: OutboxRelay) -> int:
    async def once() -> int:
        try:
            return await relay.run_once()
        finally:
            await relay.close()

    return asyncio.run(once())


@pytest.fixture
def outbox_engine(database_url):
    upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def test_every_row_is_on_the_broker_once_across_a_crash(bootstrap_servers, topic_prefix, outbox_engine):
    ensure_topics(bootstrap_servers, [topic_prefix + name for name in TOPICS], PARTITIONS)
    outbox = Outbox(outbox_engine)
    name = lambda logical: topic_prefix + logical  # noqa: E731

    add_rows(outbox_engine, 0, 120)
    first = OutboxRelay(outbox, bootstrap_servers, TOPICS, name, batch_size=50)
    assert run_relay(first) == 120
    assert outbox.pending(1000) == []

    # The crash: 30 rows reach the broker but their offsets are never recorded.
    add_rows(outbox_engine, 120, 50)
    crashed = outbox.pending(30)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=False)
    for message in crashed:
        producer.send(name(message.topic), value=message.value, key=message.key, headers=list(message.headers),
                      partition=partition_for(message.key, message.event_id, PARTITIONS))
    producer.flush(10)
    producer.close()

    restarted = OutboxRelay(outbox, bootstrap_servers, TOPICS, name)
    assert run_relay(restarted) == 50  # 30 found on the broker, 20 sent
    assert restarted.stats.recovered == 30 and restarted.stats.sent == 20
    assert outbox.pending(1000) == []

    records = read_all(bootstrap_servers, topic_prefix, 170)
    ids = [json.loads(r.value)["id"] for r in records]
    assert sorted(ids) == sorted(f"evt-{i}" for i in range(170)), "each row exactly once"
    for record in records:
        assert record.partition == partition_for(record.key, "", PARTITIONS)
    with outbox_engine.begin() as conn:
        stored = {row.event_id: (row.partition, row.offset) for row in conn.execute(sa.select(t.outbox))}
    for record in records:
        assert stored[json.loads(record.value)["id"]] == (record.partition, record.offset)
