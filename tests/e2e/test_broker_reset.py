"""A broker that comes back empty loses nothing (issue 9), on the bundled broker (Tansu, memory storage).

Each test starts a broker of its own on a fixed port, stops it and starts it
again empty on the same port: it comes back with no topics and acknowledges
writes to the topics it lost. What the outbox recorded as sent must reach the
new broker again, exactly once (counted by CloudEvents id).
"""
from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from models.sql.outbox import Outbox
from streams.broker import free_port, start_local_broker
from streams.relay import OutboxRelay
from streams.topics import ensure_topics
from tests.e2e.test_relay import PARTITIONS, TOPICS, add_rows, read_all

pytestmark = pytest.mark.broker


@pytest.fixture
def own_broker(tmp_path):
    """start(): a broker on one port, again and again; each start is empty."""
    port = free_port()
    brokers = []

    def start():
        if brokers:
            brokers[-1].stop()
        brokers.append(start_local_broker(port=port, log_file=tmp_path / "tansu.log"))
        return brokers[-1].bootstrap_servers

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture
def outbox_engine(database_url):
    upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def relay_for(outbox, servers, prefix, **options) -> OutboxRelay:
    names = [prefix + topic for topic in TOPICS]
    return OutboxRelay(outbox, servers, TOPICS, lambda logical: prefix + logical,
                       recreate_topics=lambda: ensure_topics(servers, names, PARTITIONS), **options)


def rounds(relay: OutboxRelay, count: int) -> list[int]:
    async def run() -> list[int]:
        try:
            return [await relay.run_once() for _ in range(count)]
        finally:
            await relay.close()

    return asyncio.run(run())


def ids_on(servers, prefix, expected) -> Counter:
    return Counter(json.loads(r.value)["id"] for r in read_all(servers, prefix, expected))


def test_a_running_relay_sends_again_what_an_emptied_broker_lost(own_broker, topic_prefix, outbox_engine, caplog):
    servers = own_broker()
    ensure_topics(servers, [topic_prefix + topic for topic in TOPICS], PARTITIONS)
    outbox = Outbox(outbox_engine)
    add_rows(outbox_engine, 0, 80)
    relay = relay_for(outbox, servers, topic_prefix, batch_size=50)

    async def scenario():
        try:
            first = await relay.run_once() + await relay.run_once()
            assert outbox.pending(1000) == [] and first == 80
            own_broker()  # the same port, nothing on it
            add_rows(outbox_engine, 80, 40)  # due while the broker was away
            for _ in range(4):
                await relay.run_once()
        finally:
            await relay.close()

    asyncio.run(scenario())
    assert outbox.pending(1000) == []
    assert relay.stats.resets == 1 and relay.stats.resent == 80
    seen = ids_on(servers, topic_prefix, 120)
    assert seen == Counter({f"evt-{i}": 1 for i in range(120)})
    lines = [r.getMessage() for r in caplog.records if "lost what it held" in r.getMessage()]
    assert len(lines) == 1 and "80 outbox rows" in lines[0] and "topics missing" in lines[0]


def test_a_reset_is_found_when_someone_else_recreated_the_topics_first(own_broker, topic_prefix, outbox_engine):
    servers = own_broker()
    names = [topic_prefix + topic for topic in TOPICS]
    ensure_topics(servers, names, PARTITIONS)
    outbox = Outbox(outbox_engine)
    add_rows(outbox_engine, 0, 60)
    assert sum(rounds(relay_for(outbox, servers, topic_prefix), 2)) == 60

    own_broker()
    ensure_topics(servers, names, PARTITIONS)  # e.g. another worker started meanwhile: empty topics exist
    add_rows(outbox_engine, 60, 10)
    # A relay that sends to partitions whose offsets start again at 0, and one that only verifies.
    relay = relay_for(outbox, servers, topic_prefix, verify_seconds=0)
    relay.needs_recovery = False  # as if it had been running all along: it must find the reset itself
    rounds(relay, 4)
    assert outbox.pending(1000) == []
    assert relay.stats.resets >= 1 and relay.stats.resent == 60
    assert ids_on(servers, topic_prefix, 70) == Counter({f"evt-{i}": 1 for i in range(70)})
