"""Dead letters: read them from ``catalog.dead-letters``, choose some, send their original bytes back.

A dead letter (``models.messages.dead_letter``) keeps where its input was
read (topic, partition, offset) and the input's key, value and headers in
base64. Redriving one republishes exactly those bytes and headers to the
original topic and partition, so an event rejected because the registry or a
policy did not know it yet is judged again once they do. The tracker
deduplicates on (source, id), so redriving a letter twice changes nothing
the second time; an input rejected again becomes a new dead letter.

Two headers are added to a redriven message, and so to its dead letter if it
is rejected again:
- ``catalog-tracker-redrive-count``: how many times the input was redriven;
  a letter whose count reached the limit is refused (no loop, however often
  an operator runs the command);
- ``catalog-tracker-redriven-from``: the dead letter it was redriven from.
  A letter named there by a newer one is *superseded*: its input was redriven
  and rejected again, and the newer letter stands for it.

Reading stops at each partition's end, known from a fetch's high-water mark
(the bundled broker's ListOffsets is wrong after multi-record batches,
DEVELOPERS.md).
"""
from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

from models import cloudevents as ce
from models import events as ev
from models.clock import parse_instant

REDRIVE_COUNT_HEADER = "catalog-tracker-redrive-count"
REDRIVEN_FROM_HEADER = "catalog-tracker-redriven-from"
OUR_HEADERS = (REDRIVE_COUNT_HEADER, REDRIVEN_FROM_HEADER)
DEFAULT_MAX_REDRIVES = 3

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class DeadLetter:
    """One ``gov.catalog.event.rejected`` event, with its input's bytes decoded."""

    id: str
    rejected_at: datetime | None
    reason: str
    topic: str  # where the input was read (full name, prefix included)
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    event_id: str | None = None
    event_type: str | None = None
    event_source: str | None = None
    location: tuple[str, int, int] = ("", 0, 0)  # where this dead letter itself is (topic, partition, offset)

    def header(self, name: str) -> str | None:
        found = [raw for key, raw in self.headers if key.lower() == name]
        return found[-1].decode("utf-8", "replace") if found else None

    @property
    def redrive_count(self) -> int:
        text = self.header(REDRIVE_COUNT_HEADER)
        return int(text) if text is not None and text.strip().isdigit() else 0

    @property
    def redriven_from(self) -> str | None:
        return self.header(REDRIVEN_FROM_HEADER)

    def to_dict(self) -> dict[str, Any]:
        """For ``dead-letters list --json``: everything, the bytes in base64 as in the dead letter."""
        return {"id": self.id, "rejected_at": self.rejected_at, "reason": self.reason, "topic": self.topic,
                "partition": self.partition, "offset": self.offset, "event_id": self.event_id,
                "event_type": self.event_type, "event_source": self.event_source,
                "redrive_count": self.redrive_count, "redriven_from": self.redriven_from,
                "key_base64": _b64(self.key), "value_base64": _b64(self.value),
                "headers": [[name, _b64(raw)] for name, raw in self.headers],
                "dead_letter": {"topic": self.location[0], "partition": self.location[1],
                                "offset": self.location[2]}}


class NotADeadLetter(ValueError):
    """A record of the dead-letter topic that is not one of ours (other type, missing fields, bad base64)."""


def dead_letter_of(event: dict[str, Any], location: tuple[str, int, int] = ("", 0, 0)) -> DeadLetter:
    """The ``DeadLetter`` a decoded ``gov.catalog.event.rejected`` CloudEvent describes."""
    if event.get("type") != ev.EVENT_REJECTED:
        raise NotADeadLetter(f"type {event.get('type')!r} is not {ev.EVENT_REJECTED}")
    data = event.get("data")
    if not isinstance(data, dict):
        raise NotADeadLetter("no data object")
    try:
        headers = tuple((str(name), _unb64(raw) or b"") for name, raw in data.get("headers") or [])
        return DeadLetter(
            id=str(event["id"]), rejected_at=_instant(event.get("time")), reason=str(data.get("reason", "")),
            topic=str(data["topic"]), partition=int(data["partition"]), offset=int(data["offset"]),
            key=_unb64(data.get("key_base64")), value=_unb64(data.get("value_base64")), headers=headers,
            event_id=data.get("event_id"), event_type=data.get("event_type"), event_source=data.get("event_source"),
            location=location)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise NotADeadLetter(f"{type(exc).__name__}: {exc}") from None


# ------------------------------------------------------------------ choosing

@dataclass(frozen=True)
class Selection:
    """Which dead letters a command is about; every given criterion must hold."""

    reason: str | None = None  # a part of the reason, any case
    topic: str | None = None  # the input's topic, with or without the prefix
    since: datetime | None = None  # rejected at or after
    ids: frozenset[str] = frozenset()  # dead-letter ids or the rejected events' ids
    prefix: str = ""

    def matches(self, letter: DeadLetter) -> bool:
        if self.reason is not None and self.reason.casefold() not in letter.reason.casefold():
            return False
        if self.topic is not None and letter.topic not in (self.topic, self.prefix + self.topic):
            return False
        if self.since is not None and (letter.rejected_at is None or letter.rejected_at < self.since):
            return False
        return not self.ids or letter.id in self.ids or letter.event_id in self.ids


def parse_since(text: str) -> datetime:
    """A day (its 00:00 in Asia/Shanghai) or an RFC 3339 instant."""
    try:
        return parse_instant(text)
    except ValueError:
        raise ValueError(f"--since {text!r} is neither a date (2026-03-02) nor an RFC 3339 instant") from None


@dataclass
class Letters:
    """What a read found: the chosen letters in the order they were rejected, and what it skipped."""

    chosen: list[DeadLetter] = field(default_factory=list)
    superseded_by: dict[str, str] = field(default_factory=dict)  # letter id -> the newer letter's id
    total: int = 0
    unreadable: int = 0

    def add(self, letter: DeadLetter, selection: Selection) -> None:
        self.total += 1
        if letter.redriven_from:
            self.superseded_by[letter.redriven_from] = letter.id
        if selection.matches(letter):
            self.chosen.append(letter)

    def superseded(self, letter: DeadLetter) -> str | None:
        return self.superseded_by.get(letter.id)

    def sort(self) -> None:
        self.chosen.sort(key=lambda l: (l.rejected_at is None, l.rejected_at or datetime.min, l.location))


def collect(records: Iterable[tuple[tuple[str, int, int], dict[str, Any]]], selection: Selection) -> Letters:
    """``(location, decoded CloudEvent)`` pairs to ``Letters``; only the chosen ones are kept in memory."""
    letters = Letters()
    for location, event in records:
        try:
            letters.add(dead_letter_of(event, location), selection)
        except NotADeadLetter:
            letters.unreadable += 1
    letters.sort()
    return letters


# ------------------------------------------------------------------ redrive plan

@dataclass
class RedrivePlan:
    send: list[DeadLetter] = field(default_factory=list)
    superseded: list[tuple[DeadLetter, str]] = field(default_factory=list)  # (letter, newer letter id)
    at_limit: list[DeadLetter] = field(default_factory=list)
    not_redrivable: list[tuple[DeadLetter, str]] = field(default_factory=list)  # (letter, why)
    over_limit_n: int = 0  # left for a later run by --limit


def plan_redrive(letters: Letters, *, input_topics: Sequence[str], max_redrives: int = DEFAULT_MAX_REDRIVES,
                 limit: int | None = None) -> RedrivePlan:
    """Which chosen letters to send back, and why each of the others is not sent."""
    plan = RedrivePlan()
    for letter in letters.chosen:
        newer = letters.superseded(letter)
        if newer is not None:
            plan.superseded.append((letter, newer))
        elif letter.redrive_count >= max_redrives:
            plan.at_limit.append(letter)
        elif letter.value is None:
            plan.not_redrivable.append((letter, "the dead letter holds no message bytes"))
        elif letter.topic not in input_topics:
            plan.not_redrivable.append((letter, f"{letter.topic} is not an input topic of this tracker "
                                                f"({', '.join(input_topics)})"))
        elif limit is not None and len(plan.send) >= limit:
            plan.over_limit_n += 1
        else:
            plan.send.append(letter)
    return plan


def redrive_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The input's headers, with the redrive count one higher and the letter it comes from."""
    kept = [(name, raw) for name, raw in letter.headers if name.lower() not in OUR_HEADERS]
    return kept + [(REDRIVE_COUNT_HEADER, str(letter.redrive_count + 1).encode("ascii")),
                   (REDRIVEN_FROM_HEADER, letter.id.encode("utf-8"))]


# ------------------------------------------------------------------ Kafka

def read_dead_letters(bootstrap_servers: str, topic: str, selection: Selection, *, timeout: float = 60.0,
                      fetch_max_wait_ms: int = 10) -> Letters:
    """Every dead letter of ``topic`` up to its end now; the ones ``selection`` chooses are kept."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, client_id="catalog-tracker-dead-letters",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             fetch_max_wait_ms=fetch_max_wait_ms)
    try:
        return collect(_records_to_end(consumer, topic, timeout), selection)
    finally:
        consumer.close()


def _records_to_end(consumer, topic: str, timeout: float) -> Iterator[tuple[tuple[str, int, int], dict]]:
    from kafka import TopicPartition

    deadline = time.monotonic() + timeout
    partitions = None
    while not partitions:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions and time.monotonic() > deadline:
            raise LookupError(f"topic {topic} does not exist (is TRACKER_TOPIC_PREFIX right?)")
        if not partitions:
            time.sleep(0.1)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning()
    pending = set(assigned)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {topic} did not reach the end of partitions "
                               f"{sorted(tp.partition for tp in pending)} within {timeout:.0f}s")
        for tp, records in consumer.poll(timeout_ms=200).items():
            for record in records:
                event = ce.read_leniently(record.value, ce.normalise_headers(record.headers))
                yield (record.topic, record.partition, record.offset), event
        for tp in list(pending):
            high_water = consumer.highwater(tp)
            if high_water is not None and consumer.position(tp) >= high_water:
                pending.discard(tp)


@dataclass
class RedriveOutcome:
    sent: list[tuple[DeadLetter, int, int]] = field(default_factory=list)  # (letter, partition, offset)
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)


def redrive(letters: Sequence[DeadLetter], producer, *, on_sent: Callable[[], None] | None = None,
            chunk: int = 500, timeout: float = 30.0) -> RedriveOutcome:
    """Send each letter's input back to its topic and partition (``producer``: kafka-python's ``KafkaProducer``)."""
    outcome = RedriveOutcome()
    for start in range(0, len(letters), chunk):
        batch = letters[start:start + chunk]
        futures = []
        for letter in batch:
            partitions = producer.partitions_for(letter.topic) or set()
            futures.append(producer.send(letter.topic, value=letter.value, key=letter.key,
                                         headers=redrive_headers(letter),
                                         partition=letter.partition if letter.partition in partitions else None))
        for letter, future in zip(batch, futures):
            try:
                metadata = future.get(timeout=timeout)
                outcome.sent.append((letter, metadata.partition, metadata.offset))
            except Exception as exc:  # noqa: BLE001 - reported per letter; the others go on
                outcome.failed.append((letter, f"{type(exc).__name__}: {exc}"))
            if on_sent is not None:
                on_sent()
    return outcome


def producer_for(bootstrap_servers: str):
    from kafka import KafkaProducer

    # As streams.publisher: acks from all replicas, retries, no idempotence (the bundled broker has no
    # transactions); a message sent twice is a duplicate the tracker drops on (source, id).
    return KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", retries=5, enable_idempotence=False,
                         linger_ms=5)


def _b64(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode("ascii") if raw is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text, validate=True) if text is not None else None


def _instant(text: Any) -> datetime | None:
    try:
        return parse_instant(text)
    except (AttributeError, TypeError, ValueError):
        return None
