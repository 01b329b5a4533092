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


class BrokerOnOnePort:
    """start(): a broker on one port, again and again; each start is empty. stop(): it goes away."""

    def __init__(self, log_file):
        self.port = free_port()
        self.log_file = log_file
        self.brokers = []

    def start(self) -> str:
        self.stop()
        self.brokers.append(start_local_broker(port=self.port, log_file=self.log_file))
        return self.brokers[-1].bootstrap_servers

    def stop(self) -> None:
        for broker in self.brokers:
            broker.stop()


@pytest.fixture
def own_broker(tmp_path):
    brokers = BrokerOnOnePort(tmp_path / "tansu.log")
    yield brokers
    brokers.stop()


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
    servers = own_broker.start()
    ensure_topics(servers, [topic_prefix + topic for topic in TOPICS], PARTITIONS)
    outbox = Outbox(outbox_engine)
    add_rows(outbox_engine, 0, 80)
    relay = relay_for(outbox, servers, topic_prefix, batch_size=50)

    async def scenario():
        try:
            first = await relay.run_once() + await relay.run_once()
            assert outbox.pending(1000) == [] and first == 80
            own_broker.start()  # the same port, nothing on it
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
    servers = own_broker.start()
    names = [topic_prefix + topic for topic in TOPICS]
    ensure_topics(servers, names, PARTITIONS)
    outbox = Outbox(outbox_engine)
    add_rows(outbox_engine, 0, 60)
    assert sum(rounds(relay_for(outbox, servers, topic_prefix), 2)) == 60

    own_broker.start()
    ensure_topics(servers, names, PARTITIONS)  # e.g. another worker started meanwhile: empty topics exist
    add_rows(outbox_engine, 60, 10)
    # A relay that sends to partitions whose offsets start again at 0, and one that only verifies.
    relay = relay_for(outbox, servers, topic_prefix, verify_seconds=0)
    relay.needs_recovery = False  # as if it had been running all along: it must find the reset itself
    rounds(relay, 4)
    assert outbox.pending(1000) == []
    assert relay.stats.resets >= 1 and relay.stats.resent == 60
    assert ids_on(servers, topic_prefix, 70) == Counter({f"evt-{i}": 1 for i in range(70)})


# ------------------------------------------------------------------ the whole worker

def test_a_running_worker_ticks_on_while_the_broker_is_away_and_resends_what_it_lost(own_broker, topic_prefix,
                                                                                    database_url, tmp_path):
    import sqlalchemy as sa

    from models.clock import parse_instant as at
    from models.sql import tables as t
    from streams.broker import wait_until
    from streams.topics import OBLIGATIONS, REMINDERS, VIOLATIONS
    from tests.e2e.harness import OutputReader, Pipeline, Publisher
    from tests.e2e.test_pipeline import _publish_many

    servers = own_broker.start()
    pipeline = Pipeline(servers, topic_prefix, database_url, tmp_path)
    try:
        worker = pipeline.start_worker()
        _publish_many(pipeline, 30, "R")
        pipeline.wait_for(lambda o: len(o.events(OBLIGATIONS)) >= 30, timeout=60, what="30 obligations opened")
        pipeline.clock.set(at("2026-03-16T09:00:00"))
        pipeline.wait_for(lambda o: o.events(REMINDERS), timeout=60, what="the first reminders")

        def count(table) -> int:
            return pipeline.sql(sa.select(sa.func.count()).select_from(table))[0][0]

        reminders_before = count(t.reminders)
        pipeline.output.close()
        # The broker goes away; the clock passes later stages and every deadline meanwhile.
        own_broker.stop()
        pipeline.clock.set(at("2026-03-18T09:30:00"))
        wait_until(lambda: (worker.check_alive(), count(t.reminders) > reminders_before)[1], 60,
                   what="the tick writing reminders while the broker is away")
        pipeline.clock.set(at("2026-03-31T09:00:00"))
        wait_until(lambda: (worker.check_alive(), count(t.violations) >= 30)[1], 60,
                   what="the tick writing violations while the broker is away")

        assert own_broker.start() == servers  # back, empty, on the same port
        pipeline.output = OutputReader(servers, topic_prefix)
        pipeline.publisher.close()
        pipeline.publisher = Publisher(servers, topic_prefix)  # a producer id the new broker knows
        # Input read after the reset too, once the worker has re-created the topics (a broker acknowledges and
        # drops writes to a topic it does not have: that is for publishers to avoid, before anything is stored).
        wait_until(lambda: worker.wait_healthy()["worker"]["relay"]["resets"] >= 1, 60, what="the reset seen")
        _publish_many(pipeline, 5, "N")
        expected = {topic: {row[0] for row in pipeline.sql(sa.select(table.c.id))}
                    for topic, table in ((REMINDERS, t.reminders), (VIOLATIONS, t.violations))}
        pipeline.wait_for(lambda o: all({e["id"] for e in o.events(topic)} >= ids for topic, ids in expected.items())
                          and len(o.events(OBLIGATIONS)) >= 35, timeout=90,
                          what="every reminder and violation on the new broker")
        pipeline.wait_for(lambda o: count(t.violations) >= 35 and not pipeline.sql(
            sa.select(t.outbox.c.id).where(t.outbox.c.sent.is_(False)).limit(1)), timeout=60,
            what="an empty outbox")
        pipeline.output.settle(10)
        for topic, table in ((REMINDERS, t.reminders), (VIOLATIONS, t.violations)):
            sent = Counter(e["id"] for e in pipeline.output.events(topic))
            stored = {row[0] for row in pipeline.sql(sa.select(table.c.id))}
            assert set(sent) == stored and set(sent.values()) == {1}, topic
        by_stage = Counter((e["data"]["obligation_id"], e["data"]["stage"]) for e in pipeline.output.events(REMINDERS))
        assert set(by_stage.values()) == {1}
        opened = Counter(e["id"] for e in pipeline.output.events(OBLIGATIONS))
        assert set(opened.values()) == {1}
        health = worker.wait_healthy()["worker"]["relay"]
        assert health["resets"] >= 1 and health["resent"] > 0, health
        print(f"\nbroker reset: {len(expected[REMINDERS])} reminders and {len(expected[VIOLATIONS])} violations "
              f"stored, each on the new broker once; relay {health}")
    finally:
        pipeline.close()

