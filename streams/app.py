"""The Faust app, built by a function and tuned for the bundled Tansu broker.

Nothing is built at import time: ``build_app(settings)`` returns a fresh app
each call (tests and the benchmark build several in one process).

Why each setting (see DEVELOPERS.md, "Local broker"):
- ``web_enabled=False``: Faust's own web server would bind 0.0.0.0:6066; our
  worker serves its own API on ``TRACKER_HTTP_PORT``.
- ``broker_session_timeout`` from settings (6 s): Tansu answers the first group
  join after about half the session timeout.
- ``fetch_max_wait_ms`` from settings (10 ms): Tansu answers a waiting fetch
  only when that time is up, so Faust's hard-coded 1500 ms would add 1.5 s to
  every quiet moment. Faust has no setting for it; ``TunedTransport`` below sets
  it on the aiokafka consumer Faust creates.
- raw bytes keys and values: bad JSON must reach our parser (and become a dead
  letter), never an exception inside Faust's deserializer.
- no Tables and no ``exactly_once``: Tansu's ListOffsets is wrong after batches
  and it has no transactions; durable state and exactly-once effects are in SQL.
"""
from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from config.settings import Settings


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, with the fetch wait the app asks for."""

    def _create_worker_consumer(self, transport: Any):
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, "fetch_max_wait_ms", None)
        if wait_ms is not None:
            # aiokafka keeps the constructor argument here and hands it to its
            # Fetcher on start(); Faust passes a fixed 1500.
            consumer._fetch_max_wait_ms = int(wait_ms)
        return consumer


class TunedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> TunedConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class TunedTransport(faust_aiokafka.Transport):
    Consumer = TunedConsumer


class TrackerApp(faust.App):
    """A Faust app whose consumer honours ``fetch_max_wait_ms``."""

    fetch_max_wait_ms: int | None = None

    def _new_transport(self):
        return TunedTransport(self.conf.broker_consumer, self)


def kafka_url(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()]


def build_app(settings: Settings, *, app_id: str | None = None, **overrides: Any) -> TrackerApp:
    """A configured Faust app for the tracker (or, with ``app_id``, for a benchmark agent)."""
    session_timeout = float(settings.broker_session_timeout)
    options: dict[str, Any] = dict(
        broker=kafka_url(settings.kafka_bootstrap_servers),
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=max(0.5, session_timeout / 6),
        broker_request_timeout=max(30.0, session_timeout * 2),
        broker_rebalance_timeout=max(10.0, session_timeout * 2),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        topic_allow_declare=False,  # streams.topics creates them, with the configured partition count
        producer_acks=-1,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        autodiscover=False,
        store="memory://",
    )
    options.update(overrides)
    app = TrackerApp(app_id or settings.consumer_group, **options)
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    return app


async def rewind_to_start(app: faust.App, topics) -> list:
    """Read the assigned partitions of ``topics`` (full names) from offset 0 again, forgetting Faust's positions.

    For topics a broker lost and that were created anew: their offsets start at 0
    again, and Faust would drop every message below the offset it had read
    before ("already seen"). Re-reading is harmless: the processed-events table
    makes a replay a no-op. Returns the partitions rewound.
    """
    consumer = app.consumer
    wanted = set(topics)
    rewound = [tp for tp in consumer.assignment() if tp.topic in wanted]
    for tp in rewound:
        consumer._committed_offset[tp] = None
        for state in (consumer._acked, consumer._acked_index, consumer._gap):
            state.pop(tp, None)
        await consumer.seek(tp, 0)  # also forgets the read offset
    return rewound
