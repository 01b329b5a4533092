"""The missing-notice warning: from 1 November, while next year has no notice file, say so.

Clock before and after 1 November; the worker's log says it once a day by the clock.
"""
from __future__ import annotations

import logging
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

import calendars
from calendars import missing_notice_warning
from calendars.sources import DEFAULT_CALENDAR_DIR
from models.clock import ManualClock
from models.rescheduling import RescheduleResult
from streams.calendar_watch import CalendarWatcher, DailyNoticeWarning
from tests.fakes import shanghai


@pytest.fixture(scope="module")
def cal():
    return calendars.load_calendar()


@pytest.fixture
def calendar_dir(tmp_path: Path) -> Path:
    target = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, target)
    return target


def test_nothing_before_1_november(cal):
    assert missing_notice_warning(date(2026, 10, 31), cal, lambda first, last: 99) is None
    assert missing_notice_warning(date(2026, 1, 15), cal) is None


def test_from_1_november_the_missing_year_is_named_with_what_it_affects_and_what_is_needed(cal):
    asked = []
    warning = missing_notice_warning(date(2026, 11, 1), cal, lambda first, last: asked.append((first, last)) or 3)
    assert asked == [(date(2026, 12, 26), date(2027, 12, 31))]
    assert (warning.year, warning.since, warning.affects_from, warning.provisional_open) == (
        2027, date(2026, 11, 1), date(2026, 12, 26), 3)
    assert "2027 年的国务院节假日安排通知尚未载入" in warning.message_zh
    assert "2026-12-26" in warning.message_zh and "3 项未完成义务" in warning.message_zh
    assert "catalog-tracker calendar import --year 2027" in warning.message_zh
    assert "holiday notice for 2027 is not loaded" in warning.message_en and "3 open obligations" in warning.message_en
    assert warning.needed_en.startswith("Once it is published, import it: catalog-tracker calendar import --year 2027")
    data = warning.to_dict()
    assert data["year"] == 2027 and data["provisional_open"] == 3 and data["message_zh"] == warning.message_zh
    # Without a count, the sentence about it is left out rather than guessed.
    uncounted = missing_notice_warning(date(2026, 12, 1), cal)
    assert uncounted.provisional_open is None and "项未完成义务" not in uncounted.message_zh


def test_the_warning_stops_when_the_notice_file_is_added(calendar_dir):
    live = calendars.LiveCalendar(calendar_dir)
    assert missing_notice_warning(date(2026, 12, 1), live).year == 2027
    (calendar_dir / "2027.yaml").write_text(
        "year: 2027\nnotice:\n  document_number: 国办发明电〔2026〕99号（测试用，虚构）\n", encoding="utf-8")
    live.reload()
    assert missing_notice_warning(date(2026, 12, 1), live) is None
    assert missing_notice_warning(date(2027, 10, 31), live) is None
    assert missing_notice_warning(date(2027, 11, 1), live).year == 2028


def test_the_day_it_starts_is_data(calendar_dir, cal):
    path = calendar_dir / "calendar.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('from: "11-01"', 'from: "10-15"'), encoding="utf-8")
    earlier = calendars.load_calendar(calendar_dir)
    assert missing_notice_warning(date(2026, 10, 15), earlier).since == date(2026, 10, 15)
    assert missing_notice_warning(date(2026, 10, 15), cal) is None


def test_the_worker_logs_it_once_a_day_by_the_clock(cal, caplog):
    clock = ManualClock(shanghai(2026, 10, 31, 9))
    reads = []

    def read(now):
        reads.append(now)
        found = missing_notice_warning(now.date(), cal, lambda first, last: 2)
        return found.to_dict() if found else None

    daily = DailyNoticeWarning(clock, read)
    caplog.set_level(logging.WARNING, logger="streams.calendar_watch")

    def logged():
        return [r.getMessage() for r in caplog.records if "2027" in r.getMessage()]

    assert daily.check() is None and logged() == []  # 31 October: nothing to say
    clock.set(shanghai(2026, 11, 1, 0, 5))
    for _ in range(3):  # many ticks on 1 November: one line
        daily.check()
        clock.advance(timedelta(hours=5))
    assert len(logged()) == 1 and "2 项未完成义务" in logged()[0] and "2 open obligations" in logged()[0]
    clock.set(shanghai(2026, 11, 2, 0, 1))
    daily.check()
    daily.check()
    assert len(logged()) == 2
    assert len(reads) == 3  # once for each day, not once a tick


def test_a_failed_read_is_tried_again_on_the_next_tick(cal, caplog):
    clock = ManualClock(shanghai(2026, 11, 5, 9))
    answers = [RuntimeError("database is locked"), {"message_zh": "缺 2027 年通知", "message_en": "2027 missing"}]

    def read(now):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    daily = DailyNoticeWarning(clock, read)
    caplog.set_level(logging.WARNING, logger="streams.calendar_watch")
    assert daily.check() is None
    assert daily.check() == {"message_zh": "缺 2027 年通知", "message_en": "2027 missing"}
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not check" in m and "database is locked" in m for m in messages)
    assert any("缺 2027 年通知 | 2027 missing" == m for m in messages)
    assert not any(r.exc_info for r in caplog.records)  # an expected failure: no traceback


def test_the_calendar_watcher_runs_the_daily_check_after_reloading(calendar_dir):
    live = calendars.LiveCalendar(calendar_dir)
    clock = ManualClock(shanghai(2026, 12, 1, 9))
    seen = []
    watcher = CalendarWatcher(live, lambda *changed: RescheduleResult(), DailyNoticeWarning(
        clock, lambda now: seen.append(missing_notice_warning(now.date(), live)) or None))
    (calendar_dir / "2027.yaml").write_text(
        "year: 2027\nnotice:\n  document_number: 国办发明电〔2026〕99号（测试用，虚构）\n", encoding="utf-8")
    watcher.check(is_holder=True)
    assert seen == [None]  # the new file was loaded first: nothing missing any more
