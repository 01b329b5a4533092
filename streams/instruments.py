"""The worker's Prometheus instruments: what ingest, the relay, the tick and the delivery runner count.

``PrometheusInstruments`` is the ``models.ports.MetricsPort`` of a running worker. It keeps its own
``prometheus_client.CollectorRegistry`` (never the library's global one), so each process, and each test,
counts alone; ``GET /metrics`` (``api.metrics``) writes that registry in the Prometheus text format, with
the gauges read from SQL at scrape time.

Also here: what the ingest agent last applied on each input partition (``ConsumerPositions``) and the
collector that turns it, with the consumer's high-water marks, into the consumer lag
(``ConsumerLagCollector``), read at scrape time.

Names follow the Prometheus conventions: ``catalog_tracker_`` first, ``_total`` for counters, base units
(``_seconds``).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "catalog_tracker"

# What became of an input message (``catalog_tracker_events_consumed_total{outcome}``).
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
DEAD_LETTERED = "dead-lettered"
UNASSESSED = "unassessed"
OUTCOMES = (ACCEPTED, DUPLICATE, DEAD_LETTERED, UNASSESSED)

# Seconds: a batch of one event takes a few milliseconds; 2,000 events or a held database take seconds.
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PrometheusInstruments:
    """Counters and histograms on a registry of their own (one per process, one per test)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        # No ``…_created`` series beside every counter (the library's default, a process-wide switch): they
        # double the text to scrape and Prometheus itself does not need them.
        disable_created_metrics()
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self._consumed = Counter(f"{PREFIX}_events_consumed", "Input messages settled, by input topic and outcome "
                                 "(accepted, duplicate, dead-lettered, unassessed)", ["topic", "outcome"], registry=r)
        self._batch = Histogram(f"{PREFIX}_batch_apply_duration_seconds", "Time to apply one input batch in SQL "
                                "(every message recorded), retries and splits included", buckets=BATCH_BUCKETS,
                                registry=r)
        self._sent = Counter(f"{PREFIX}_relay_sent", "Outbox rows acknowledged by the broker, by output topic",
                             ["topic"], registry=r)
        self._relay_failures = Counter(f"{PREFIX}_relay_failures", "Relay sends whose outcome is unknown (the "
                                       "broker is read before sending again)", registry=r)
        self._tick = Histogram(f"{PREFIX}_tick_duration_seconds", "Time of one tick of the lease holder (what is "
                               "due: reminders, overdue obligations, periods begun)", buckets=TICK_BUCKETS, registry=r)
        self._found = Counter(f"{PREFIX}_tick_found", "What the ticks found, by kind (reminders, overdue, "
                              "violations, obligations_opened, obligations_completed)", ["found"], registry=r)
        self._delivered = Counter(f"{PREFIX}_deliveries", "Deliveries to people settled by the delivery runner, by "
                                  "channel and outcome (sent, retried, failed, skipped)", ["channel", "outcome"],
                                  registry=r)

    def consumed(self, topic: str, outcome: str, count: int = 1) -> None:
        if count:
            self._consumed.labels(topic=topic, outcome=outcome).inc(count)

    def batch_applied(self, seconds: float) -> None:
        self._batch.observe(seconds)

    def relay_sent(self, topic: str, count: int) -> None:
        if count:
            self._sent.labels(topic=topic).inc(count)

    def relay_failed(self) -> None:
        self._relay_failures.inc()

    def tick_done(self, seconds: float, found: dict[str, int]) -> None:
        self._tick.observe(seconds)
        for what, count in found.items():
            self._found.labels(found=what).inc(count)  # a kind found 0 times still shows, at 0

    def delivered(self, channel: str, outcome: str, count: int = 1) -> None:
        if count:
            self._delivered.labels(channel=channel, outcome=outcome).inc(count)


class ConsumerPositions:
    """What the ingest agent last applied on each input partition: its offset and the message's timestamp."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[tuple[str, int], tuple[int, float | None]] = {}

    def applied(self, topic: str, partition: int, offset: int, timestamp: float | None) -> None:
        """``timestamp``: the Kafka message's, in seconds since the epoch (None when unknown)."""
        with self._lock:
            previous = self._last.get((topic, partition))
            if previous is None or offset >= previous[0]:
                self._last[(topic, partition)] = (offset, timestamp)

    def forget(self) -> None:
        """The partitions are read from their start again (a broker reset)."""
        with self._lock:
            self._last.clear()

    def last(self, topic: str, partition: int) -> tuple[int, float | None] | None:
        with self._lock:
            return self._last.get((topic, partition))


class ConsumerLagCollector(Collector):
    """``catalog_tracker_consumer_lag_messages`` and ``_seconds`` per assigned input partition, at scrape time.

    ``consumer()`` gives the Faust consumer (None before it runs). Lag in messages is the partition's
    high-water mark (from the consumer's last fetch) minus the next offset to apply (the last applied + 1,
    or the committed offset when nothing was applied by this process). Lag in seconds is 0 when caught up,
    else the time since the last applied message was produced (the oldest waiting message is at most that
    old). Both read memory only: a scrape never waits for the broker.
    """

    def __init__(self, consumer: Callable[[], Any], positions: ConsumerPositions,
                 wall_time: Callable[[], float] = time.time, topics: Iterable[str] | None = None):
        self.consumer = consumer
        self.positions = positions
        self.topics = frozenset(topics) if topics is not None else None  # the input topics (not Faust's own)
        self.wall_time = wall_time

    def describe(self) -> Iterable:
        return [GaugeMetricFamily(f"{PREFIX}_consumer_lag_messages", "", labels=["topic", "partition"]),
                GaugeMetricFamily(f"{PREFIX}_consumer_lag_seconds", "", labels=["topic", "partition"])]

    def collect(self) -> Iterable:
        messages = GaugeMetricFamily(f"{PREFIX}_consumer_lag_messages", "Messages of the input partition not yet "
                                     "applied (high-water mark minus the next offset to apply)",
                                     labels=["topic", "partition"])
        seconds = GaugeMetricFamily(f"{PREFIX}_consumer_lag_seconds", "Seconds behind on the input partition: 0 "
                                    "when caught up, else since the last applied message was produced",
                                    labels=["topic", "partition"])
        for topic, partition, lag, behind in self.lags():
            labels = [topic, str(partition)]
            messages.add_metric(labels, lag)
            if behind is not None:
                seconds.add_metric(labels, behind)
        yield messages
        yield seconds

    def lags(self) -> list[tuple[str, int, int, float | None]]:
        """(topic, partition, messages behind, seconds behind or None) of each assigned partition."""
        try:
            consumer = self.consumer()
            assigned = sorted(tp for tp in (consumer.assignment() if consumer is not None else ())
                              if self.topics is None or tp.topic in self.topics)
        except Exception:  # noqa: BLE001 - not started, or stopping: no partitions to speak of
            return []
        now = self.wall_time()
        found = []
        for tp in assigned:
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - the partition was revoked meanwhile
                continue
            if highwater is None:
                continue
            last = self.positions.last(tp.topic, tp.partition)
            if last is not None:
                next_offset = last[0] + 1
            else:
                committed = getattr(consumer, "_committed_offset", {})
                next_offset = (committed.get(tp) if hasattr(committed, "get") else None) or 0
            lag = max(0, int(highwater) - next_offset)
            if lag == 0:
                behind: float | None = 0.0
            elif last is not None and last[1] is not None:
                behind = max(0.0, now - last[1])
            else:
                behind = None
            found.append((tp.topic, tp.partition, lag, behind))
        return found
