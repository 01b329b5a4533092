"""The application service: what the stream agents and the scheduler call.

No Kafka and no Faust here. ``Tracker.apply_batch`` takes decoded messages
(``Accepted``) and rejections (``Rejected``) and applies them in one
transaction; ``Tracker.tick`` does the time-based work due at an instant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from models.events import InboundEvent


@dataclass(frozen=True)
class Accepted:
    """A message that parsed into a valid event, with where it came from."""

    topic: str
    partition: int
    offset: int
    event: InboundEvent


@dataclass(frozen=True)
class Rejected:
    """A message that could not be parsed; it becomes one dead letter."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    reason: str


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unassessed: int = 0
    obligations_opened: int = 0
    obligations_completed: int = 0
    violations: int = 0
    outbox_rows: int = 0


@dataclass
class TickResult:
    reminders: int = 0
    overdue: int = 0
    violations: int = 0
    outbox_rows: int = 0
    more_due: bool = False
    details: list[str] = field(default_factory=list)


class Tracker:
    """Interface placeholder; the implementation follows in the next commit."""

    def apply_batch(self, items: Sequence[Accepted | Rejected]) -> BatchResult:
        raise NotImplementedError

    def tick(self, now: datetime) -> TickResult:
        raise NotImplementedError

    def reschedule_for_calendar(self, before, after) -> int:
        raise NotImplementedError
