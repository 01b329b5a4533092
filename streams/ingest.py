"""From Kafka messages to one SQL transaction: decoding and the batch applier.

The agent (``streams.agents``) stays thin: it hands each batch of raw messages
to ``decode_message`` and the result to ``BatchApplier``. Everything here is
plain Python, testable without a broker.

Why ``BatchApplier`` never gives up quietly: Faust acks the events of a batch
once the agent moves past it, and commits acked offsets soon after. If the
SQL transaction failed and the agent went on, those events would be lost. So
a failing batch is retried with back-off, and when it keeps failing the
process exits at once (``os._exit``: no Faust shutdown, hence no offset
commit). The next worker replays the batch; the processed-events table makes
the replay of anything already applied a no-op.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from models.cloudevents import Headers, normalise_headers
from models.events import InvalidEvent
from models.service import Accepted, Rejected
from models.validation import parse_cloudevent

log = logging.getLogger(__name__)

EXIT_DATABASE_UNAVAILABLE = 75  # EX_TEMPFAIL: the supervisor may restart us


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
    last_batch_at: float | None = None
    last_error: str | None = None


def hard_exit(status: int) -> None:
    logging.shutdown()
    sys.stderr.flush()
    os._exit(status)


class BatchApplier:
    """Applies decoded batches with ``apply_batch`` in a thread; retries; exits the process when it cannot."""

    def __init__(self, apply_batch: Callable[[Sequence[Accepted | Rejected]], Any], *,
                 retry_delays: Sequence[float] = (0.2, 0.5, 1, 2, 4, 8, 15, 30),
                 on_applied: Callable[[Any], None] | None = None,
                 give_up: Callable[[int], None] = hard_exit):
        self.apply_batch = apply_batch
        self.retry_delays = tuple(retry_delays)
        self.on_applied = on_applied
        self.give_up = give_up
        self.stats = IngestStats()

    async def apply(self, items: Sequence[Accepted | Rejected]) -> Any:
        attempt = 0
        while True:
            try:
                result = await asyncio.to_thread(self.apply_batch, items)
                break
            except Exception as exc:  # noqa: BLE001 - any failure: retry, then stop loudly
                self.stats.last_error = repr(exc)
                if attempt >= len(self.retry_delays):
                    log.critical("applying a batch of %d messages failed %d times; stopping the worker so that "
                                 "no offset is committed past it (last error: %r)", len(items), attempt + 1, exc)
                    self.give_up(EXIT_DATABASE_UNAVAILABLE)
                    raise  # only reached when give_up does not exit (tests)
                delay = self.retry_delays[attempt]
                attempt += 1
                self.stats.retries += 1
                log.error("applying a batch failed (attempt %d, retrying in %.1fs): %r", attempt, delay, exc)
                await asyncio.sleep(delay)
        self.stats.batches += 1
        self.stats.messages += len(items)
        self.stats.rejected += sum(1 for item in items if isinstance(item, Rejected))
        self.stats.accepted += sum(1 for item in items if isinstance(item, Accepted))
        self.stats.last_batch_at = time.time()
        log_dead_letters(result)
        if self.on_applied is not None:
            self.on_applied(result)
        return result


def log_dead_letters(result: Any) -> None:
    """One info line per input the batch dead-lettered (no traceback: bad input is expected), with where it was."""
    for dead in getattr(result, "dead_letters", ()):
        where = dead.origin.log_fields() if isinstance(dead.origin, KafkaOrigin) else {}
        log.info("dead-lettered %s: %s", "/".join(map(str, where.values())) or "an input", dead.reason,
                 extra={**where, "event_id": dead.event_id, "reason": dead.reason})
