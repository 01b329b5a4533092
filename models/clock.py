"""Clocks: the only way code in this project learns what time it is.

Deadlines come from event dates, but reminders and violations depend on "now".
Everything that needs now takes a ``Clock`` so tests, replays and the demo can
control time:

- ``SystemClock``: the real time.
- ``ManualClock``: set and advanced by the caller (unit tests).
- ``FileClock``: reads an RFC 3339 instant from a file on each call, so a test
  can move the time of a worker running in another process.
- ``SimulatedClock``: starts at an instant and runs ``speed`` times faster than
  real time (replays: ``--speed 86400`` plays a day per second).

``clock_from_spec`` builds one from the ``TRACKER_CLOCK`` setting.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from models.ports import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_instant(text: str) -> datetime:
    """RFC 3339 / ISO 8601 instant; without an offset it is read as Asia/Shanghai."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware instant")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware instant")
        self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now


class FileClock:
    """Time is whatever instant the file holds; re-read only when the file changes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._value: datetime | None = None

    def now(self) -> datetime:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp or self._value is None:
            self._value = parse_instant(self.path.read_text(encoding="utf-8"))
            self._stamp = stamp
        return self._value

    @staticmethod
    def write(path: str | Path, instant: datetime) -> None:
        """Move a FileClock: write atomically so a reader never sees half a line."""
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(instant.isoformat(), encoding="utf-8")
        tmp.replace(path)


class SimulatedClock:
    def __init__(self, start: datetime, speed: float, monotonic=time.monotonic):
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware instant")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        elapsed = self._monotonic() - self._origin
        return self.start + timedelta(seconds=elapsed * self.speed)


def clock_from_spec(spec: str) -> Clock:
    """``system`` | ``fixed:<instant>`` | ``file:<path>`` | ``simulated:<instant>@<speed>``."""
    kind, _, arg = spec.partition(":")
    if kind == "system":
        return SystemClock()
    if kind == "fixed":
        return ManualClock(parse_instant(arg))
    if kind == "file":
        return FileClock(arg)
    if kind == "simulated":
        start, _, speed = arg.rpartition("@")
        return SimulatedClock(parse_instant(start), float(speed))
    raise ValueError(f"TRACKER_CLOCK={spec!r}: expected system, fixed:<instant>, file:<path> or simulated:<instant>@<speed>")
