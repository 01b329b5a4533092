"""Replay: run the tracker over recorded input topics against a simulated clock.

The replay reads every message of the input topics (up to the high-water mark
of each partition), orders them by the instant they were published (the
CloudEvents ``time``) and plays them into a private copy of the topics
(``<prefix>replay-<run>.…``) that a fresh worker consumes, while the replay
moves that worker's clock (``TRACKER_CLOCK=file:…``) through the window.

Why a file clock driven from here rather than each process running its own
``SimulatedClock``: the two would start at different real moments and drift;
and a deterministic result needs the worker to see exactly the same instants
on every run. The replay's own ``SimulatedClock`` paces the steps (``--speed``),
and the instants the worker sees are fixed:

- the publication instant of every event (the clock is set there before the
  event is sent, and time does not move on until the worker has applied it);
- every day at 00:00 (deadlines end at 24:00, so violations are found there)
  and at the reminder time (reminders go out then on working days).

At each step the replay waits until the worker has ticked at that instant.
So replaying the same topics into an empty database gives the same
obligations, violations and evaluation figures, whatever the speed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Sequence

from models import events as ev
from models import validation
from models.clock import SHANGHAI


@dataclass(frozen=True)
class RecordedMessage:
    """One input message as it was stored, and the instant it is replayed at."""

    topic: str  # logical name, without prefix
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    published: datetime | None  # CloudEvents time; None when the message does not parse


@dataclass(frozen=True)
class Step:
    """One instant the worker's clock is set to, with the messages sent at it."""

    at: datetime
    messages: tuple[RecordedMessage, ...] = field(default=())


def published_instant(value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> datetime | None:
    """The CloudEvents ``time`` of a message, or None when it is not a valid input event."""
    try:
        return validation.parse_cloudevent(value, list(headers)).time
    except ev.InvalidEvent:
        return None


def window(start: date, end: date) -> tuple[datetime, datetime]:
    """From ``start`` 00:00 to the end of ``end`` (24:00), Asia/Shanghai."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    return (datetime.combine(start, time(0), tzinfo=SHANGHAI),
            datetime.combine(end + timedelta(days=1), time(0), tzinfo=SHANGHAI))


def order_messages(messages: Iterable[RecordedMessage], begin: datetime,
                   end: datetime) -> tuple[list[tuple[datetime, RecordedMessage]], list[RecordedMessage]]:
    """Messages with the instant each is replayed at, in replay order; and those after the window.

    Events published before the window are played at its start. A message that
    does not parse (it will be dead-lettered again) keeps its place in its
    partition: it is played at the instant of the message before it there.
    """
    by_partition: dict[tuple[str, int], list[RecordedMessage]] = {}
    for message in messages:
        by_partition.setdefault((message.topic, message.partition), []).append(message)
    scheduled: list[tuple[datetime, RecordedMessage]] = []
    later: list[RecordedMessage] = []
    for (_, _), partition_messages in sorted(by_partition.items()):
        previous = begin
        for message in sorted(partition_messages, key=lambda m: m.offset):
            instant = message.published if message.published is not None else previous
            instant = max(instant, begin)
            if instant > end:
                later.append(message)
                continue
            previous = instant
            scheduled.append((instant, message))
    scheduled.sort(key=lambda item: (item[0], item[1].topic, item[1].partition, item[1].offset))
    return scheduled, later


def plan_steps(begin: datetime, end: datetime, reminder_time: str,
               scheduled: Sequence[tuple[datetime, RecordedMessage]]) -> list[Step]:
    """Every instant the worker's clock visits, in order, each with the messages sent at it."""
    hour, minute = (int(part) for part in reminder_time.split(":"))
    instants: set[datetime] = {begin, end}
    day = begin.astimezone(SHANGHAI).date()
    while True:
        midnight = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        if midnight > end:
            break
        for instant in (midnight, datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)):
            if begin <= instant <= end:
                instants.add(instant)
        day += timedelta(days=1)
    messages_at: dict[datetime, list[RecordedMessage]] = {}
    for instant, message in scheduled:
        instants.add(instant)
        messages_at.setdefault(instant, []).append(message)
    ordered = sorted(instants)
    return [Step(at, tuple(messages_at.get(at, ()))) for at in ordered]


def progress_bar(fraction: float, width: int = 30) -> str:
    fraction = min(1.0, max(0.0, fraction))
    filled = int(round(fraction * width))
    return "[" + "#" * filled + "-" * (width - filled) + f"] {fraction * 100:5.1f}%"

