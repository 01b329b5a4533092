"""From Kafka messages to one SQL transaction: decoding and the batch applier.

The agent (``streams.agents``) stays thin: it hands each batch of raw messages
to ``decode_message`` and the result to ``BatchApplier``. Everything here is
plain Python, testable without a broker.

Why ``BatchApplier.apply`` returns only when every message of the batch is
recorded: Faust acks the events of a batch once the agent moves past it, and
commits acked offsets soon after; a message not applied by then would be lost.
So a failure is sorted (``models.sql.errors``) into

- **transient** (database unreachable or busy, a lock or serialisation
  failure): the batch is held, the agent reads nothing more, and the same
  batch is retried with back-off (capped at a few seconds; a cheap probe of the
  database between retries resumes it as soon as the database answers). The
  worker never exits for this: ``stats`` says ``degraded`` with the cause, which
  ``/api/health`` shows.
- **deterministic** (the data: a value the database refuses, a bug one event
  meets): the batch is split in halves, each applied on its own, until the
  failing message is alone; it becomes a dead letter with a reason naming what
  was refused, and every other message is applied as usual. A replay of any
  part is a no-op (processed-events table, dead letters keyed by position).
"""
from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from models.cloudevents import Headers, normalise_headers
from models.events import InvalidEvent
from models.ports import NO_METRICS, MetricsPort
from models.service import Accepted, Rejected
from models.sql import errors as sql_errors
from models.validation import parse_cloudevent
from streams.instruments import ACCEPTED, DEAD_LETTERED, DUPLICATE, UNASSESSED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaOrigin:
    """Where a message was read: what its dead letter, if any, records (``models.ports.Origin``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()

    def reference(self) -> tuple[str, ...]:
        return (self.topic, str(self.partition), str(self.offset))

    def log_fields(self) -> dict[str, Any]:
        """Where it was read, as ``extra=`` of a log call (JSON logs carry them as fields)."""
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}

    def record(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "value_base64": _b64(self.value), "key_base64": _b64(self.key),
                "headers": [[name, _b64(raw or b"")] for name, raw in self.headers]}


def _b64(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode("ascii") if raw is not None else None


def decode_message(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                   headers: Any, *, max_bytes: int,
                   types_of_topic: Mapping[str, Sequence[str]] | None = None) -> Accepted | Rejected:
    """One Kafka message to ``Accepted`` (a valid event) or ``Rejected`` (reason and original bytes).

    ``types_of_topic`` (full topic name -> event types): an event of another type on ``topic`` is rejected.
    """
    origin = KafkaOrigin(topic, partition, offset, key, value, normalise_headers(headers))
    try:
        event = parse_cloudevent(value, origin.headers, max_bytes=max_bytes)
        allowed = types_of_topic.get(topic) if types_of_topic is not None else None
        if allowed is not None and event.type not in allowed:
            raise InvalidEvent(f"type {event.type} does not belong on topic {topic} "
                               f"(it carries {', '.join(allowed)})")
    except InvalidEvent as exc:
        return Rejected(origin, exc.reason)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the stream: dead-letter it
        log.exception("parser failed on %s[%d]@%d", topic, partition, offset, extra=origin.log_fields())
        return Rejected(origin, f"the message could not be parsed: {type(exc).__name__}: {exc}")
    return Accepted(event, origin)


@dataclass
class IngestStats:
    batches: int = 0
    messages: int = 0
    accepted: int = 0
    rejected: int = 0
    retries: int = 0
    isolated: int = 0  # messages dead-lettered because applying them failed (poison)
    splits: int = 0  # batches split to find such a message
    outages: int = 0  # times the stream was held for a transient failure
    last_batch_at: float | None = None
    last_error: str | None = None
    degraded_since: float | None = None  # time.time() when the current hold began; None when running
    cause: str | None = None  # why the stream is held (None when running)

    @property
    def state(self) -> str:
        return "ok" if self.degraded_since is None else "degraded"


class BatchApplier:
    """Applies decoded batches with ``apply_batch`` in a thread: holds through outages, isolates poison."""

    def __init__(self, apply_batch: Callable[[Sequence[Accepted | Rejected]], Any], *,
                 retry_delays: Sequence[float] = (0.2, 0.5, 1, 2, 5),
                 probe: Callable[[], Any] | None = None, probe_interval: float = 0.5,
                 is_transient: Callable[[BaseException], bool] = sql_errors.is_transient,
                 describe: Callable[[BaseException], str] = sql_errors.describe,
                 cause: Callable[[BaseException], str] = sql_errors.cause,
                 on_applied: Callable[[Any], None] | None = None, metrics: MetricsPort = NO_METRICS):
        self.apply_batch = apply_batch
        self.metrics = metrics
        self.retry_delays = tuple(retry_delays) or (1.0,)  # the last one repeats: the cap
        self.probe = probe  # a cheap "does the database answer" (e.g. models.sql.engine.ping)
        self.probe_interval = probe_interval
        self.is_transient = is_transient
        self.describe = describe
        self.cause = cause
        self.on_applied = on_applied
        self.stats = IngestStats()
        self._probe_task: asyncio.Future | None = None

    async def apply(self, items: Sequence[Accepted | Rejected]) -> Any:
        """Apply the batch; returns when every message is recorded (applied or dead-lettered)."""
        items = list(items)
        isolated_before = self.stats.isolated
        started = time.monotonic()
        results = await self._apply_isolating(items)
        self.metrics.batch_applied(time.monotonic() - started)
        for (topic, outcome), count in outcomes_by_topic(items, results).items():
            self.metrics.consumed(topic, outcome, count)
        result = results[0] if len(results) == 1 else results
        isolated = self.stats.isolated - isolated_before
        self.stats.batches += 1
        self.stats.messages += len(items)
        self.stats.rejected += sum(1 for item in items if isinstance(item, Rejected)) + isolated
        self.stats.accepted += sum(1 for item in items if isinstance(item, Accepted)) - isolated
        self.stats.last_batch_at = time.time()
        log_dead_letters(result)
        if self.on_applied is not None:
            self.on_applied(result)
        return result

    # ------------------------------------------------------------ poison: split until alone

    async def _apply_isolating(self, items: list, whole: bool = True) -> list:
        try:
            return [await self._apply_holding(items)]
        except Exception as exc:  # noqa: BLE001 - deterministic (transient ones are retried inside)
            if len(items) == 1:
                return [await self._dead_letter(items[0], exc)]
            if whole:
                log.warning("a batch of %d messages failed on its data (%s); applying it in halves to find "
                            "the message", len(items), self.describe(exc))
            self.stats.splits += 1
            middle = len(items) // 2
            return (await self._apply_isolating(items[:middle], False)
                    + await self._apply_isolating(items[middle:], False))

    async def _dead_letter(self, item: Accepted | Rejected, exc: BaseException) -> Any:
        """The message alone fails: record it as a dead letter, with fewer details if even that is refused."""
        reason = poison_reason(item, self.describe(exc))
        log.warning("dead-lettering the message at %s: %s", "/".join(item.origin.reference()), reason)
        self.stats.isolated += 1
        candidates = [Rejected(item.origin, reason, getattr(item, "event", None)), Rejected(item.origin, reason),
                      Rejected(item.origin, reason.encode("ascii", "backslashreplace").decode("ascii"))]
        attempt = 0
        while True:
            for candidate in candidates:
                try:
                    return await self._apply_holding([candidate])
                except Exception as failure:  # noqa: BLE001 - try the plainer dead letter next
                    last = failure
            # Not even a plain dead letter can be stored: that is the storage's fault, not the message's. Hold.
            self._hold(last, f"cannot store the dead letter of {'/'.join(item.origin.reference())}")
            await self._wait_before_retry(attempt)
            attempt += 1

    # ------------------------------------------------------------ outages: hold and retry

    async def _apply_holding(self, items: list) -> Any:
        """``apply_batch(items)``, retried for as long as it fails transiently; raises a deterministic failure."""
        attempt = 0
        while True:
            try:
                result = await asyncio.to_thread(self.apply_batch, items)
            except Exception as exc:  # noqa: BLE001 - sorted below
                if not self.is_transient(exc):
                    self.stats.last_error = self.describe(exc)
                    raise
                self._hold(exc, self.cause(exc))
                await self._wait_before_retry(attempt)
                attempt += 1
                continue
            if self.stats.degraded_since is not None:
                log.warning("the database answers again: the stream resumes after %.1fs held",
                            time.time() - self.stats.degraded_since)
                self.stats.degraded_since = None
                self.stats.cause = None
            return result

    def _hold(self, exc: BaseException, cause: str) -> None:
        self.stats.retries += 1
        self.stats.last_error = cause
        self.stats.cause = cause
        if self.stats.degraded_since is None:
            self.stats.degraded_since = time.time()
            self.stats.outages += 1
            log.warning("holding the stream, retrying until it works: %s", cause)  # once per outage

    async def _wait_before_retry(self, attempt: int) -> None:
        """Wait the back-off; with a probe, ask it every ``probe_interval`` and stop waiting once it answers."""
        delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.probe is None:
                await asyncio.sleep(remaining)
                return
            if self._probe_task is None:  # one probe at a time, however slow it is
                self._probe_task = asyncio.ensure_future(asyncio.to_thread(self.probe))
            done, _ = await asyncio.wait({self._probe_task}, timeout=min(self.probe_interval, remaining))
            if not done:
                continue
            task, self._probe_task = self._probe_task, None
            if task.exception() is None:
                return  # the database answers: retry now, not at the end of the back-off
            await asyncio.sleep(min(self.probe_interval, max(0.0, deadline - time.monotonic())))


UNASSESSED_PREFIX = "unassessed"  # how the tracker's reasons for an event outside every policy begin


def outcomes_by_topic(items: Sequence[Accepted | Rejected], results: Sequence[Any]) -> dict[tuple[str, str], int]:
    """(input topic, outcome) -> messages, for a batch and the results of applying it (one per part applied).

    Every message has one outcome: dead-lettered or unassessed (its dead letter says which, with where it was
    read), a duplicate (``duplicate_origins``, else the batch's count when one topic had accepted events), or
    accepted (the rest).
    """
    totals: dict[str, int] = {}
    for item in items:
        topic = getattr(item.origin, "topic", None)
        if topic is not None:
            totals[topic] = totals.get(topic, 0) + 1
    found: dict[tuple[str, str], int] = {}

    def add(topic: str | None, outcome: str, count: int = 1) -> None:
        if topic in totals and count:
            found[(topic, outcome)] = found.get((topic, outcome), 0) + count

    for result in results:
        for dead in getattr(result, "dead_letters", ()):
            outcome = UNASSESSED if dead.reason.startswith(UNASSESSED_PREFIX) else DEAD_LETTERED
            add(getattr(dead.origin, "topic", None), outcome)
        origins = getattr(result, "duplicate_origins", None)
        if origins is not None:
            for origin in origins:
                add(getattr(origin, "topic", None), DUPLICATE)
        elif getattr(result, "duplicates", 0):
            accepted_topics = {getattr(i.origin, "topic", None) for i in items if isinstance(i, Accepted)}
            add(next(iter(accepted_topics)) if len(accepted_topics) == 1 else None, DUPLICATE, result.duplicates)
    for topic, total in totals.items():
        settled = sum(count for (t, _), count in found.items() if t == topic)
        add(topic, ACCEPTED, max(0, total - settled))
    return found


def poison_reason(item: Accepted | Rejected, failure: str) -> str:
    """The dead-letter reason of a message that parsed (or was rejected) and could not be recorded."""
    if isinstance(item, Accepted):
        return f"event {item.event.id} ({item.event.type}) could not be applied: {failure}"
    return f"{item.reason} (and its dead letter could not be stored as it was: {failure})"



def log_dead_letters(result: Any) -> None:
    """One info line per input the batch dead-lettered (no traceback: bad input is expected), with where it was."""
    for dead in getattr(result, "dead_letters", ()):
        where = dead.origin.log_fields() if isinstance(dead.origin, KafkaOrigin) else {}
        log.info("dead-lettered %s: %s", "/".join(map(str, where.values())) or "an input", dead.reason,
                 extra={**where, "event_id": dead.event_id, "reason": dead.reason})
