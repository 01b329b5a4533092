"""What the domain needs from the working-day calendar (``calendars/`` provides it).

A Protocol, so unit tests can pass a small fake and the domain never imports
the concrete calendar.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol


class DeadlineLike(Protocol):
    due_date: date
    end: datetime
    provisional_years: tuple[int, ...]
    provisional: bool


class ExplanationLike(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    def text_zh(self) -> str: ...


class Calendar(Protocol):
    def is_working_day(self, d: date) -> bool: ...

    def add_working_days(self, d: date, n: int) -> date: ...

    def working_days_between(self, a: date, b: date) -> int: ...

    def deadline(self, start_day: date, n: int) -> DeadlineLike: ...

    def working_days_left(self, now: datetime, due_date: date) -> int: ...

    def explain(self, start_day: date, n: int) -> ExplanationLike: ...
