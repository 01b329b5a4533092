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
- **A broker that comes back empty** (the bundled broker keeps topics in
  memory; it also acknowledges writes to topics it no longer has): before each
  send round and after each acknowledgement the relay asks the broker's
  metadata whether the output topics exist, and a recovery (after a failure,
  on gaining the lease and every ``verify_seconds``) reads the record at the
  last recorded offset of each partition and checks it is the one recorded. A
  topic missing, an offset out of range, another record there or an offset
  acknowledged below one recorded before means a reset: the topics are
  re-created (``recreate_topics``), every outbox row the partition no longer
  holds is marked unsent (``OutboxPort.reconcile_partition``) and sent again,
  and one line says so. A row is marked sent only for an acknowledged produce
  to a topic the metadata lists.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import OffsetOutOfRangeError
from kafka.partitioner.default import murmur2

from models import cloudevents as ce
from models.ports import NO_METRICS, MetricsPort, OutboxPort
from models.sql import errors as sql_errors

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
    resets: int = 0  # times the broker was found to have lost what it held
    resent: int = 0  # outbox rows marked unsent by those resets
    cause: str | None = None  # why the relay cannot send now (None when it can)


class BrokerReset(Exception):
    """The broker lost topics or records it acknowledged (e.g. an in-memory broker restarted)."""


class OutboxRelay:
    """Async on the worker's event loop (aiokafka producer); SQL and the recovery read run in threads."""

    def __init__(self, outbox: OutboxPort, bootstrap_servers: str, output_topics: Sequence[str],
                 topic_name: Callable[[str], str], *, batch_size: int = 2000, send_timeout: float = 30.0,
                 recovery_timeout: float = 60.0, fetch_max_wait_ms: int = 10, max_batch_bytes: int = 512 * 1024,
                 recreate_topics: Callable[[], Any] | None = None, verify_seconds: float = 10.0,
                 metadata_timeout: float = 5.0,
                 on_reset: Callable[[], Awaitable[Any]] | None = None, metrics: MetricsPort = NO_METRICS):
        self.outbox = outbox
        self.metrics = metrics
        self.bootstrap_servers = bootstrap_servers
        self.output_topics = tuple(output_topics)  # logical names
        self.topic_name = topic_name  # logical -> full name (adds the prefix)
        self.batch_size = batch_size
        self.send_timeout = send_timeout
        self.recovery_timeout = recovery_timeout
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.max_batch_bytes = max_batch_bytes
        self.recreate_topics = recreate_topics  # creates the missing topics (streams.topics.ensure_topics)
        self.on_reset = on_reset  # after a reset: e.g. the input consumer reads its new topics from 0
        self._reset_seen = False
        self.verify_seconds = verify_seconds
        self.metadata_timeout = metadata_timeout
        self.needs_recovery = True
        self.stats = RelayStats()
        self._producer: AIOKafkaProducer | None = None
        self._reader: KafkaConsumer | None = None
        self._partitions: dict[str, int] = {}
        self._last_offsets: dict[tuple[str, int], int] = {}  # (logical topic, partition) -> last recorded offset
        self._next_verify = 0.0
        self._force_reconcile: set[tuple[str, int]] = set()

    # ------------------------------------------------------------ public

    async def run_once(self, max_seconds: float | None = None) -> int:
        """Recover if needed, then send pending rows until none are left (or ``max_seconds`` passed).

        Returns how many rows were sent or found already sent by the recovery.
        """
        self.stats.rounds += 1
        try:
            total = await self._round(max_seconds)
        except Exception as exc:
            self.stats.cause = (sql_errors.cause(exc) if sql_errors.is_database_error(exc)
                                else f"broker unreachable or without its topics: {type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else ''}"[:300])
            raise
        self.stats.cause = None
        return total

    async def _round(self, max_seconds: float | None) -> int:
        total = 0
        if self.needs_recovery or time.monotonic() >= self._next_verify:
            if self.needs_recovery:
                await self._close_producer()  # nothing of ours may still be in flight while we look
            recovered = await asyncio.to_thread(self.recover)
            self.stats.recovered += recovered
            total += recovered
            if self._reset_seen and self.on_reset is not None:
                self._reset_seen = False
                await self.on_reset()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while True:
            messages = await asyncio.to_thread(self.outbox.pending, self.batch_size)
            if not messages:
                return total
            if await asyncio.to_thread(self._missing_topics):  # lost since we looked: recover first
                self.needs_recovery = True
                return total
            total += await self._send(messages)
            if self.needs_recovery:  # a send had an unknown outcome or met a reset: recover on the next round
                return total
            if len(messages) < self.batch_size:
                return total
            if deadline is not None and time.monotonic() >= deadline:
                return total

    def recover(self) -> int:
        """Mark as sent the outbox rows already on the broker; detect and repair a reset (blocking: in a thread)."""
        try:
            missing = self._missing_topics()
            if missing:
                self._recreate(missing)
            marked = unsent = 0
            reset_partitions: list[str] = []
            for topic in self.output_topics:
                topic_marked, topic_unsent, lost = self._recover_topic(topic, topic in missing)
                marked += topic_marked
                unsent += topic_unsent
                reset_partitions += lost
        except Exception:
            self._close_reader()  # a fresh connection next time
            raise
        self.needs_recovery = False
        self._next_verify = time.monotonic() + self.verify_seconds
        if missing or reset_partitions:
            self._reset_seen = True
            self.stats.resets += 1
            self.stats.resent += unsent
            self._partitions.clear()
            log.warning("relay: the broker lost what it held (%s); topics re-created, %d outbox rows not on the "
                        "broker marked unsent and sent again", "; ".join(
                            ([f"topics missing: {', '.join(missing)}"] if missing else [])
                            + ([f"partitions reset: {', '.join(reset_partitions)}"] if reset_partitions else [])),
                        unsent)
        if marked:
            log.warning("relay recovery: %d outbox rows were already on the broker and are now marked sent", marked)
        return marked

    async def close(self) -> None:
        await self._close_producer()
        await asyncio.to_thread(self._close_reader)

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
            partitions = await producer.partitions_for(full_topic)
            if not partitions:
                raise BrokerReset(f"topic {full_topic} has no partitions in the broker's metadata")
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
        backwards: set[tuple[str, int]] = set()
        for (partition, rows, _), result in zip(sends, results):
            if isinstance(result, BaseException):
                self._unknown_outcome(result)
                continue
            # The broker gives a batch consecutive offsets from its base offset.
            acknowledged.extend((row.id, partition, result.offset + i) for i, row in enumerate(rows))
            where = (rows[0].topic, partition)
            last = self._last_offsets.get(where)
            if last is not None and result.offset <= last:
                backwards.add(where)  # an offset given twice: the partition was reset
            top = result.offset + len(rows) - 1
            self._last_offsets[where] = top if last is None or where in backwards else max(top, last)
        if acknowledged and await asyncio.to_thread(self._missing_topics):
            # Acknowledged by a broker without the topic (it keeps none of it): not sent.
            self._unknown_outcome(BrokerReset("a topic was missing after the broker acknowledged a send"))
            return 0
        if acknowledged:
            await asyncio.to_thread(self.outbox.mark_sent, acknowledged)
            for (_, rows, _), result in zip(sends, results):
                if not isinstance(result, BaseException):
                    self.metrics.relay_sent(rows[0].topic, len(rows))
        if backwards:
            log.warning("relay: the broker gave offsets it had given before on %s; reading it again",
                        ", ".join(f"{topic}[{partition}]" for topic, partition in sorted(backwards)))
            self.needs_recovery = True
            self._force_reconcile |= backwards
        self.stats.sent += len(acknowledged)
        return len(acknowledged)

    def _unknown_outcome(self, exc: BaseException | None) -> None:
        if not self.needs_recovery:
            log.warning("relay: a send's outcome is unknown (%r); the broker will be read before sending again", exc)
        self.needs_recovery = True
        self.stats.failures += 1
        self.metrics.relay_failed()
        self.stats.last_error = repr(exc)

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), self.send_timeout)
            except Exception:  # noqa: BLE001 - closing a broken producer: nothing more to do
                log.exception("relay: closing the producer failed")

    # ------------------------------------------------------------ recovery

    def _reader_(self) -> KafkaConsumer:
        if self._reader is None:
            self._reader = KafkaConsumer(
                bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False, group_id=None,
                auto_offset_reset="none", fetch_max_wait_ms=self.fetch_max_wait_ms,
                request_timeout_ms=int(max(self.metadata_timeout, 1) * 1000),
                bootstrap_timeout_ms=int(max(self.metadata_timeout, 1) * 1000),
                client_id="catalog-tracker-relay-recovery")
        return self._reader

    def _close_reader(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            try:
                reader.close()
            except Exception:  # noqa: BLE001 - closing a broken client: nothing more to do
                pass

    def _missing_topics(self) -> list[str]:
        """Output topics (logical names) the broker's metadata does not list; asks the broker each time."""
        try:
            present = self._reader_().topics()
        except Exception:
            self._close_reader()
            raise
        return [topic for topic in self.output_topics if self.topic_name(topic) not in present]

    def _recreate(self, missing: Sequence[str]) -> None:
        if self.recreate_topics is None:
            raise BrokerReset(f"topics missing on the broker and nothing to re-create them: {', '.join(missing)}")
        self.recreate_topics()
        self._close_reader()  # its metadata predates the new topics

    def _partitions_of(self, full_topic: str) -> set[int]:
        deadline = time.monotonic() + self.metadata_timeout
        while True:
            reader = self._reader_()
            partitions = reader.partitions_for_topic(full_topic)
            if partitions:
                return partitions
            if time.monotonic() >= deadline:
                raise BrokerReset(f"topic {full_topic} is not in the broker's metadata")
            reader.topics()  # refreshes the metadata
            time.sleep(0.05)

    def _recover_topic(self, topic: str, lost: bool) -> tuple[int, int, list[str]]:
        """Mark what a previous send left unrecorded; reconcile the partitions that lost records.

        Returns (rows marked sent, rows marked unsent, names of the partitions found reset)."""
        full_topic = self.topic_name(topic)
        marked = unsent = 0
        reset: list[str] = []
        for partition in sorted(self._partitions_of(full_topic)):
            tp = TopicPartition(full_topic, partition)
            last = self.outbox.last_sent(topic, partition)
            holds_last = not lost
            if holds_last and last is not None:  # read from the last recorded record: is it still ours?
                found, in_range = read_event_ids(self._reader_(), tp, last[0], self.recovery_timeout)
                holds_last = in_range and found.get(last[1]) == last[0]
            if not holds_last or (topic, partition) in self._force_reconcile:
                if last is not None or lost:
                    found, _ = read_event_ids(self._reader_(), tp, 0, self.recovery_timeout)
                    unsent += self.outbox.reconcile_partition(topic, partition, found)
                    reset.append(f"{full_topic}[{partition}]")
                    marked += len(found)
                self._force_reconcile.discard((topic, partition))
            elif last is None:
                found, _ = read_event_ids(self._reader_(), tp, 0, self.recovery_timeout)
                if found:
                    marked += self.outbox.mark_sent_by_event_ids(topic, partition, found)
            else:
                newer = {event_id: offset for event_id, offset in found.items() if offset > last[0]}
                if newer:
                    marked += self.outbox.mark_sent_by_event_ids(topic, partition, newer)
            recorded = self.outbox.last_sent(topic, partition)
            if recorded is None:
                self._last_offsets.pop((topic, partition), None)
            else:
                self._last_offsets[(topic, partition)] = recorded[0]
        return marked, unsent, reset


def read_event_ids(consumer: KafkaConsumer, tp: TopicPartition, start: int,
                   timeout: float) -> tuple[dict[str, int], bool]:
    """CloudEvents id -> offset of every record in ``tp`` from ``start`` to the fetch's high-water mark,
    and whether ``start`` was in range (False: the partition holds less than that)."""
    consumer.assign([tp])
    consumer.seek(tp, start)
    found: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            batches = consumer.poll(timeout_ms=100)
        except OffsetOutOfRangeError:
            return found, False
        for record in batches.get(tp, ()):
            event_id = ce.event_id(record.value, record.headers or ())
            if event_id is not None:
                found[event_id] = record.offset
        highwater = consumer.highwater(tp)
        if highwater is not None and consumer.position(tp) >= highwater:
            return found, start <= highwater
        if time.monotonic() >= deadline:
            raise TimeoutError(f"relay recovery: reading {tp} did not reach the high-water mark in {timeout:.0f}s")
