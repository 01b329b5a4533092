"""The outbox relay: sends the outbox rows to Kafka, each exactly once as seen by subscribers.

Sends with aiokafka on the worker's event loop, in record batches built per
partition (kafka-python's producer costs about 30 times more CPU per message,
which the ingest agent then lacks); SQL calls and the recovery read (kafka-python
consumer) run in threads.

- **Partition from the key**, computed here (murmur2 of the key, masked and
  modulo the partition count: the same as Kafka's default partitioner, so a
  department's outputs land where Java and kafka-python clients would put
  them). A message without a key is placed by the murmur2 of its CloudEvents
  id, so its partition is stable too: the crash recovery below must know
  where to look.
- **No idempotence** (Tansu has neither transactions nor idempotent
  producers): a send either gets an acknowledged offset, which is recorded,
  or its outcome is unknown. Caveat: aiokafka re-sends a batch whose request
  timed out (until ``send_timeout``); if the timed-out request had landed, that
  batch would be on the topic twice. Not seen on loopback; on a real Kafka
  cluster an idempotent producer would close this gap.
- **Recovery** runs when the relay starts (on every lease acquisition) and
  after any send whose outcome is unknown: each output partition is read from
  the last recorded offset + 1 up to the high-water mark reported by a fetch
  (never ``end_offsets()``: Tansu's ListOffsets is wrong after batches); every
  outbox row whose CloudEvents id (read from the value) is
  found there is marked sent with the offset it got. What is not found is
  sent again. So nothing is sent twice or lost, provided only the lease holder
  relays (the worker makes sure of that).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from models import cloudevents as ce
from models.ports import OutboxPort

log = logging.getLogger(__name__)


def partition_for(key: bytes | None, event_id: str, partitions: int) -> int:
    """Kafka's default partitioner for keyed messages; keyless ones by their event id."""
    data = key if key is not None else event_id.encode("utf-8")
    return (murmur2(data) & 0x7FFFFFFF) % partitions


@dataclass
class RelayStats:
    sent: int = 0
    recovered: int = 0
    failures: int = 0
    last_error: str | None = None
    rounds: int = 0


class OutboxRelay:
    """Async on the worker's event loop (aiokafka producer); SQL and the recovery read run in threads."""

    def __init__(self, outbox: OutboxPort, bootstrap_servers: str, output_topics: Sequence[str],
                 topic_name: Callable[[str], str], *, batch_size: int = 2000, send_timeout: float = 30.0,
                 recovery_timeout: float = 60.0, fetch_max_wait_ms: int = 10, max_batch_bytes: int = 512 * 1024):
        self.outbox = outbox
        self.bootstrap_servers = bootstrap_servers
        self.output_topics = tuple(output_topics)  # logical names
        self.topic_name = topic_name  # logical -> full name (adds the prefix)
        self.batch_size = batch_size
        self.send_timeout = send_timeout
        self.recovery_timeout = recovery_timeout
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.max_batch_bytes = max_batch_bytes
        self.needs_recovery = True
        self.stats = RelayStats()
        self._producer: AIOKafkaProducer | None = None
        self._partitions: dict[str, int] = {}

    # ------------------------------------------------------------ public

    async def run_once(self, max_seconds: float | None = None) -> int:
        """Recover if needed, then send pending rows until none are left (or ``max_seconds`` passed).

        Returns how many rows were sent or found already sent by the recovery.
        """
        self.stats.rounds += 1
        total = 0
        if self.needs_recovery:
            await self._close_producer()  # nothing of ours may still be in flight while we look
            recovered = await asyncio.to_thread(self.recover)
            self.stats.recovered += recovered
            total += recovered
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while True:
            messages = await asyncio.to_thread(self.outbox.pending, self.batch_size)
            if not messages:
                return total
            total += await self._send(messages)
            if self.needs_recovery:  # a send had an unknown outcome: recover on the next round
                return total
            if len(messages) < self.batch_size:
                return total
            if deadline is not None and time.monotonic() >= deadline:
                return total

    def recover(self) -> int:
        """Mark as sent the outbox rows already on the broker (blocking: run it in a thread)."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                 group_id=None, auto_offset_reset="none",
                                 fetch_max_wait_ms=self.fetch_max_wait_ms, client_id="catalog-tracker-relay-recovery")
        marked = 0
        try:
            for topic in self.output_topics:
                marked += self._recover_topic(consumer, topic)
        finally:
            consumer.close()
        self.needs_recovery = False
        if marked:
            log.warning("relay recovery: %d outbox rows were already on the broker and are now marked sent", marked)
        return marked

    async def close(self) -> None:
        await self._close_producer()

    # ------------------------------------------------------------ sending

    async def _producer_(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers, acks="all", enable_idempotence=False, linger_ms=0,
                max_batch_size=self.max_batch_bytes, request_timeout_ms=int(self.send_timeout * 1000),
                client_id="catalog-tracker-relay")
            await producer.start()
            self._producer = producer
        return self._producer

    async def _partition_count(self, producer: AIOKafkaProducer, full_topic: str) -> int:
        count = self._partitions.get(full_topic)
        if count is None:
            deadline = time.monotonic() + self.send_timeout
            while True:
                partitions = await producer.partitions_for(full_topic)
                if partitions:
                    break
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"topic {full_topic} has no partitions in the broker's metadata")
                await asyncio.sleep(0.1)
            count = self._partitions[full_topic] = len(partitions)
        return count

    async def _send(self, messages: Sequence) -> int:
        """Send in record batches per partition (in outbox order within each); record what was acknowledged."""
        acknowledged: list[tuple[int, int, int]] = []
        try:
            producer = await self._producer_()
            batches: dict[tuple[str, int], list[tuple[Any, list]]] = {}  # (topic, partition) -> [(builder, rows)]
            for message in messages:
                full_topic = self.topic_name(message.topic)
                partition = partition_for(message.key, message.event_id,
                                          await self._partition_count(producer, full_topic))
                chain = batches.setdefault((full_topic, partition), [])
                if not chain or chain[-1][0].append(key=message.key, value=message.value, timestamp=None,
                                                    headers=list(message.headers)) is None:
                    builder = producer.create_batch()
                    if builder.append(key=message.key, value=message.value, timestamp=None,
                                      headers=list(message.headers)) is None:
                        raise ValueError(f"outbox row {message.id} does not fit in a record batch")
                    chain.append((builder, []))
                chain[-1][1].append(message)
            sends = []
            for (full_topic, partition), chain in batches.items():
                for builder, rows in chain:
                    builder.close()
                    sends.append((partition, rows, await producer.send_batch(builder, full_topic,
                                                                             partition=partition)))
            results = await asyncio.wait_for(
                asyncio.gather(*(future for _, _, future in sends), return_exceptions=True), self.send_timeout)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the outcome unknown
            self._unknown_outcome(exc)
            results, sends = [], []
        for (partition, rows, _), result in zip(sends, results):
            if isinstance(result, BaseException):
                self._unknown_outcome(result)
                continue
            # The broker gives a batch consecutive offsets from its base offset.
            acknowledged.extend((row.id, partition, result.offset + i) for i, row in enumerate(rows))
        if acknowledged:
            await asyncio.to_thread(self.outbox.mark_sent, acknowledged)
        self.stats.sent += len(acknowledged)
        return len(acknowledged)

    def _unknown_outcome(self, exc: BaseException | None) -> None:
        if not self.needs_recovery:
            log.warning("relay: a send's outcome is unknown (%r); the broker will be read before sending again", exc)
        self.needs_recovery = True
        self.stats.failures += 1
        self.stats.last_error = repr(exc)

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), self.send_timeout)
            except Exception:  # noqa: BLE001 - closing a broken producer: nothing more to do
                log.exception("relay: closing the producer failed")

    # ------------------------------------------------------------ recovery

    def _recover_topic(self, consumer: KafkaConsumer, topic: str) -> int:
        full_topic = self.topic_name(topic)
        partitions = consumer.partitions_for_topic(full_topic)
        deadline = time.monotonic() + self.recovery_timeout
        while not partitions:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"relay recovery: topic {full_topic} is not in the broker's metadata")
            time.sleep(0.1)
            partitions = consumer.partitions_for_topic(full_topic)
        marked = 0
        for partition in sorted(partitions):
            last = self.outbox.last_sent_offset(topic, partition)
            found = read_event_ids(consumer, TopicPartition(full_topic, partition), 0 if last is None else last + 1,
                                   self.recovery_timeout)
            if found:
                marked += self.outbox.mark_sent_by_event_ids(topic, partition, found)
        return marked


def read_event_ids(consumer: KafkaConsumer, tp: TopicPartition, start: int, timeout: float) -> dict[str, int]:
    """CloudEvents id -> offset of every record in ``tp`` from ``start`` to the fetch's high-water mark."""
    consumer.assign([tp])
    consumer.seek(tp, start)
    found: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            batches = consumer.poll(timeout_ms=100)
        except Exception as exc:  # noqa: BLE001 - e.g. offset out of range: the broker lost what we recorded
            log.error("relay recovery: cannot read %s from offset %d: %r", tp, start, exc,
                      extra={"topic": tp.topic, "partition": tp.partition, "offset": start})
            return found
        for record in batches.get(tp, ()):
            event_id = ce.event_id(record.value, record.headers or ())
            if event_id is not None:
                found[event_id] = record.offset
        highwater = consumer.highwater(tp)
        if highwater is not None and consumer.position(tp) >= highwater:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"relay recovery: reading {tp} did not reach the high-water mark in {timeout:.0f}s")
