"""A calendar that can be reloaded while the service runs, and what a reload changes.

``LiveCalendar`` holds the current immutable snapshot. ``reload()`` builds a new
snapshot from the files and swaps it in only if it loads cleanly (a bad file
raises CalendarError and the old snapshot stays). ``changed_deadlines`` compares
two snapshots over a set of open (start day, N) cases so obligations can be
rescheduled after a new notice.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

from calendars.build import load_calendar
from calendars.results import Deadline, Explanation
from calendars.sources import DEFAULT_CALENDAR_DIR, watched_files
from calendars.working_days import WorkingDayCalendar


@dataclass(frozen=True)
class DeadlineChange:
    start_day: date
    working_days: int
    before: Deadline
    after: Deadline


def changed_deadlines(
    before: WorkingDayCalendar, after: WorkingDayCalendar, cases: Iterable[tuple[date, int]]
) -> list[DeadlineChange]:
    """The cases whose due date or provisional flag differs between two calendars (each case once)."""
    changes: list[DeadlineChange] = []
    seen: set[tuple[date, int]] = set()
    for start_day, n in cases:
        if (start_day, n) in seen:
            continue
        seen.add((start_day, n))
        old = before.deadline(start_day, n)
        new = after.deadline(start_day, n)
        if old.due_date != new.due_date or old.provisional_years != new.provisional_years:
            changes.append(DeadlineChange(start_day, n, old, new))
    return changes


def changed_days(before, after) -> tuple[date, ...]:
    """The days whose working status or provisional flag differs between two calendar snapshots.

    Cheap (the per-day arrays are compared block by block), so a reload can ask which
    days moved and look only at the deadlines whose counting interval (start_day, due_date]
    contains one of them. Accepts snapshots or ``LiveCalendar`` objects (their current snapshot).
    """
    return _snapshot(before).days_differing_from(_snapshot(after))


def _snapshot(calendar) -> WorkingDayCalendar:
    return calendar.current if isinstance(calendar, LiveCalendar) else calendar


class LiveCalendar:
    """The current calendar snapshot, replaced on ``reload()``; queries go to the snapshot."""

    def __init__(self, calendar_dir: str | Path | None = None, jurisdiction: str | None = None):
        self.calendar_dir = Path(calendar_dir) if calendar_dir is not None else DEFAULT_CALENDAR_DIR
        self.jurisdiction = jurisdiction
        self._lock = threading.Lock()
        self._fingerprint = self._stamp()
        self._current = load_calendar(self.calendar_dir, jurisdiction)

    @property
    def current(self) -> WorkingDayCalendar:
        return self._current

    def reload(self) -> tuple[WorkingDayCalendar, WorkingDayCalendar]:
        """Re-read the files; return (before, after). On a bad file, raise and keep the old snapshot."""
        with self._lock:
            stamp = self._stamp()
            after = load_calendar(self.calendar_dir, self.jurisdiction)
            before, self._current, self._fingerprint = self._current, after, stamp
            return before, after

    def follow(self, snapshot: WorkingDayCalendar) -> None:
        """Compute with ``snapshot``, another process's current one (the ingest writer follows its worker's)."""
        with self._lock:
            self._current = snapshot

    def reload_if_changed(self) -> tuple[WorkingDayCalendar, WorkingDayCalendar] | None:
        """Reload only when a data file was added, removed or modified (cheap: stat calls only)."""
        if self._stamp() == self._fingerprint:
            return None
        return self.reload()

    def _stamp(self) -> tuple:
        stamps = []
        for path in watched_files(self.calendar_dir, self.jurisdiction):
            try:
                st = path.stat()
                stamps.append((str(path), st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append((str(path), None, None))
        return tuple(stamps)

    # Delegation to the current snapshot (each call sees one consistent snapshot).
    def is_working_day(self, d: date) -> bool:
        return self._current.is_working_day(d)

    def add_working_days(self, d: date, n: int) -> date:
        return self._current.add_working_days(d, n)

    def working_days_between(self, a: date, b: date) -> int:
        return self._current.working_days_between(a, b)

    def next_working_day(self, d: date) -> date:
        return self._current.next_working_day(d)

    def previous_working_day(self, d: date) -> date:
        return self._current.previous_working_day(d)

    def deadline(self, start_day: date, n: int) -> Deadline:
        return self._current.deadline(start_day, n)

    def working_days_left(self, now: datetime, due_date: date) -> int:
        return self._current.working_days_left(now, due_date)

    def explain(self, start_day: date, n: int) -> Explanation:
        return self._current.explain(start_day, n)

    def provisional_years_between(self, a: date, b: date) -> tuple[int, ...]:
        return self._current.provisional_years_between(a, b)

    def is_provisional(self, year: int) -> bool:
        return self._current.is_provisional(year)

    def is_day_provisional(self, d: date) -> bool:
        return self._current.is_day_provisional(d)

    def year_end_window(self, year: int) -> tuple[date, date]:
        return self._current.year_end_window(year)

    def day_flags(self) -> tuple[date, bytes, bytes]:
        return self._current.day_flags()
