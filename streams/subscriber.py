"""Following the tracker's notification topics, as a supervisor or a department would.

``follow`` reads one output topic with kafka-python and yields each event as a
``Notification``; ``render_line`` turns it into one readable line (department
name from the registry, article, due date, explanation), ``render_json`` into
one JSON line for machines. ``catalog-tracker watch`` is the command around it.

Output events are CloudEvents in structured JSON mode; binary mode (``ce_*``
headers, data in the value) is read too, so a subscriber does not care which
mode the relay used.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from models import cloudevents as ce
from models import events as ev
from models import wording
from streams import topics

WATCHABLE = {
    "violations": topics.VIOLATIONS,
    "reminders": topics.REMINDERS,
    "obligations": topics.OBLIGATIONS,
    "dead-letters": topics.DEAD_LETTERS,
}

@dataclass(frozen=True)
class Notification:
    """One output event and where it was read."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def data(self) -> dict[str, Any]:
        data = self.event.get("data")
        return data if isinstance(data, dict) else {}


def decode_notification(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                        headers: list[tuple[str, bytes]] | None) -> Notification:
    """Structured or binary CloudEvent to a dict; anything unreadable is kept as ``{"raw": text}``."""
    event = ce.read_leniently(value, ce.normalise_headers(headers))
    return Notification(topic, partition, offset, key.decode("utf-8", "replace") if key else None, event)


def department_label(code: str | None, names: Mapping[str, str]) -> str:
    return wording.department_label(code, names.get(code or ""))


def render_line(notification: Notification, names: Mapping[str, str]) -> str:
    """One line a person reads: what, who, which article, by when, why."""
    data = notification.data
    label = wording.zh(wording.NOTIFICATION_TYPES, notification.type, notification.type or wording.UNKNOWN[0])
    department = department_label(data.get("department") or notification.event.get("subject"), names)
    parts = [f"[{label}]", department]
    if data.get("article"):
        parts.append(str(data["article"]))
    parts += wording.watch_parts(notification.type, data)
    if notification.type == ev.EVENT_REJECTED:
        return " ".join(parts)
    explanation = data.get("explanation")
    if isinstance(explanation, dict):
        explanation = explanation.get("text_zh") or explanation.get("zh") or json.dumps(explanation, ensure_ascii=False)
    if explanation:
        parts.append(f"— {explanation_summary(str(explanation))}")
    elif data.get("obligation_id"):
        parts.append(wording.watch_obligation(data["obligation_id"]))
    return " ".join(parts)


def explanation_summary(explanation: str) -> str:
    """The explanation's leading paragraphs (what, which trigger, which deadline) on one line.

    Explanations are laid out as paragraphs and end with the day-by-day count
    under a heading line (ending in a colon); that detail stays in ``--json``
    and on the dashboard, so the line stays readable.
    """
    lines = [line.strip() for line in explanation.splitlines() if line.strip()]
    summary: list[str] = []
    for line in lines:
        if line.endswith(("：", ":")):
            break
        summary.append(line)
    return " ".join(" ".join(summary or lines).split())


def render_json(notification: Notification, names: Mapping[str, str]) -> str:
    """The CloudEvent as one JSON line, with where it was read and the department's name."""
    record = dict(notification.event)
    record["kafka"] = {"topic": notification.topic, "partition": notification.partition,
                       "offset": notification.offset, "key": notification.key}
    code = notification.data.get("department")
    if code and code in names:
        record["department_name"] = names[code]
    return json.dumps(record, ensure_ascii=False)


def follow(bootstrap_servers: str, topic: str, *, group: str | None = None, from_beginning: bool = False,
           idle_timeout: float | None = None, session_timeout: float = 6.0, fetch_max_wait_ms: int = 10,
           on_ready: Callable[[int], None] | None = None) -> Iterator[Notification]:
    """Yield notifications from ``topic`` until ``idle_timeout`` seconds pass without one (None: forever).

    Without ``group`` every partition is read and no position is stored (a
    supervisor's private view). With ``group`` the partitions are shared with
    the other members and positions are committed, so a restarted watcher
    continues where the group stopped. Where no position is stored, reading
    starts at the end (only new events) or, with ``from_beginning``, at the
    oldest event.

    "The end" is the high-water mark of a fetch, not ListOffsets: the bundled
    broker answers ListOffsets wrongly after multi-record batches (DEVELOPERS.md),
    which would replay old events as if they were new.

    ``on_ready(partitions)`` is called once every assigned partition has its
    starting position: from then on, every event published is yielded.
    """
    import time

    from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        client_id="catalog-tracker-watch",
        auto_offset_reset="earliest",
        enable_auto_commit=group is not None,
        # Short session and fetch wait: the bundled broker answers the first join
        # after half the session timeout and a waiting fetch only at its end.
        session_timeout_ms=int(session_timeout * 1000),
        heartbeat_interval_ms=max(100, int(session_timeout * 1000 / 3)),
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    start = StartAtEnd(consumer)
    try:
        if group is None:
            partitions = _wait_for_partitions(consumer, topic)
            consumer.assign([TopicPartition(topic, p) for p in partitions])
            consumer.seek_to_beginning()
            if not from_beginning:
                start.add(consumer.assignment())
        else:
            class Listener(ConsumerRebalanceListener):
                # The group's stored positions are asked for after the poll: kafka-python
                # does not allow that request inside the rebalance callback.
                def on_partitions_revoked(self, revoked):
                    start.discard(revoked)
                    newly_assigned.difference_update(revoked)

                def on_partitions_assigned(self, assigned):
                    newly_assigned.update(assigned)

            consumer.subscribe([topic], listener=Listener())
        newly_assigned: set = set()
        last_event = time.monotonic()
        while idle_timeout is None or time.monotonic() - last_event < idle_timeout:
            batches = consumer.poll(timeout_ms=200)
            if newly_assigned:
                if not from_beginning:
                    start.add(tp for tp in newly_assigned if consumer.committed(tp) is None)
                newly_assigned.clear()
            records = list(start.keep_new(batches))
            if on_ready is not None and consumer.assignment() and not start.pending and not newly_assigned:
                on_ready(len(consumer.assignment()))
                on_ready = None
            for record in records:
                last_event = time.monotonic()
                yield decode_notification(record.topic, record.partition, record.offset, record.key, record.value,
                                          list(record.headers or []))
    finally:
        consumer.close()


class StartAtEnd:
    """Partitions to be read from their end: once a fetch has told a partition's
    high-water mark, records below it are dropped and the position jumps there."""

    def __init__(self, consumer):
        self.consumer = consumer
        self.pending: set = set()
        self.marks: dict = {}

    def add(self, partitions) -> None:
        for tp in partitions:
            self.pending.add(tp)
            self.marks.pop(tp, None)

    def discard(self, partitions) -> None:
        for tp in partitions:
            self.pending.discard(tp)
            self.marks.pop(tp, None)

    def keep_new(self, batches: dict) -> Iterator:
        for tp in list(self.pending):
            high_water = self.consumer.highwater(tp)
            if high_water is not None:
                self.marks[tp] = high_water
                self.pending.discard(tp)
                if self.consumer.position(tp) < high_water:
                    self.consumer.seek(tp, high_water)
        for tp, records in batches.items():
            if tp in self.pending and records:
                # no high-water mark came with these (not expected): they were there before we looked
                self.marks[tp] = records[-1].offset + 1
                self.pending.discard(tp)
            mark = self.marks.get(tp, 0)
            for record in records:
                if record.offset >= mark:
                    yield record


def _wait_for_partitions(consumer, topic: str, timeout: float = 30.0) -> list[int]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return sorted(partitions)
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} does not exist (is the tracker running with this TRACKER_TOPIC_PREFIX?)")
        time.sleep(0.1)


def load_department_names(departments_file: str) -> dict[str, str]:
    """Code → name from the department registry (``models.departments``); empty when the file is missing."""
    from pathlib import Path

    from models.departments import load_registry

    if not Path(departments_file).exists():
        return {}
    return {department.code: department.name for department in load_registry(departments_file)}
