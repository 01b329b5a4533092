from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models.clock import (
    SHANGHAI, FileClock, ManualClock, SimulatedClock, SystemClock, clock_from_spec, parse_instant,
)


def test_instant_without_offset_is_shanghai_time():
    assert parse_instant("2026-03-02T09:00:00") == datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    assert parse_instant("2026-03-02T09:00:00Z") == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(datetime(2026, 1, 5, 9, tzinfo=SHANGHAI))
    assert clock.now() == clock.now()
    clock.advance(timedelta(days=1))
    assert clock.now() == datetime(2026, 1, 6, 9, tzinfo=SHANGHAI)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 7))


def test_file_clock_follows_the_file(tmp_path):
    path = tmp_path / "now"
    FileClock.write(path, datetime(2026, 1, 5, 9, tzinfo=SHANGHAI))
    clock = FileClock(path)
    assert clock.now() == datetime(2026, 1, 5, 9, tzinfo=SHANGHAI)
    FileClock.write(path, datetime(2026, 2, 1, 0, 30, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2026, 2, 1, 0, 30, tzinfo=SHANGHAI)


def test_simulated_clock_runs_speed_times_faster():
    ticks = iter([100.0, 100.0, 102.5])
    clock = SimulatedClock(datetime(2025, 1, 1, tzinfo=SHANGHAI), speed=86400, monotonic=lambda: next(ticks))
    assert clock.now() == datetime(2025, 1, 1, tzinfo=SHANGHAI)
    assert clock.now() == datetime(2025, 1, 3, 12, tzinfo=SHANGHAI)


def test_clock_from_spec():
    assert isinstance(clock_from_spec("system"), SystemClock)
    assert clock_from_spec("fixed:2026-05-01T08:00:00+08:00").now() == datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert isinstance(clock_from_spec("simulated:2025-01-01T00:00:00+08:00@86400"), SimulatedClock)
    with pytest.raises(ValueError, match="TRACKER_CLOCK"):
        clock_from_spec("sundial")
