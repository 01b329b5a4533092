"""Adding next year's notice to a running service: reload, and which deadlines it moves."""
from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

import calendars
from calendars import CalendarError, LiveCalendar, changed_deadlines
from calendars.sources import DEFAULT_CALENDAR_DIR

# A made-up 2027 notice for the test only (the real one is not published yet).
NOTICE_2027 = """
year: 2027
notice:
  title: 测试用 2027 年节假日安排
  document_number: 国办发明电〔2026〕99号
  date: 2026-11-01
rest_days:
  元旦: [2027-01-01, 2027-01-02, 2027-01-03]
  春节: [2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12]
make_up_working_days:
  春节: [2027-02-13]
"""


@pytest.fixture
def calendar_dir(tmp_path: Path) -> Path:
    target = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, target)
    return target


def test_reload_picks_up_a_new_year_file_without_restart(calendar_dir):
    live = LiveCalendar(calendar_dir)
    assert live.is_provisional(2027)
    assert live.deadline(date(2026, 12, 20), 10).provisional_years == (2027,)
    assert live.reload_if_changed() is None

    (calendar_dir / "2027.yaml").write_text(NOTICE_2027, encoding="utf-8")
    pair = live.reload_if_changed()
    assert pair is not None
    before, after = pair
    assert live.current is after and before is not after
    assert before.is_provisional(2027)  # the old snapshot is unchanged
    assert not after.is_provisional(2027) and not live.is_provisional(2027)
    assert date(2027, 2, 13).weekday() == 5 and live.is_working_day(date(2027, 2, 13))
    assert not live.is_working_day(date(2027, 2, 12))
    assert live.deadline(date(2026, 12, 20), 10).provisional_years == ()
    assert live.explain(date(2027, 2, 4), 1).counted[0].note_zh == "调休上班（春节）"
    assert live.reload_if_changed() is None


def test_changed_deadlines_lists_only_the_cases_a_notice_moves(calendar_dir):
    live = LiveCalendar(calendar_dir)
    (calendar_dir / "2027.yaml").write_text(NOTICE_2027, encoding="utf-8")
    before, after = live.reload()
    moved = (date(2027, 2, 4), 1)  # statutory holidays end 10 Feb; the notice runs to 12 Feb, 13 Feb worked
    flag_only = (date(2026, 12, 20), 10)  # same due date, no longer provisional
    unchanged = (date(2026, 6, 1), 5)
    changes = changed_deadlines(before, after, [moved, flag_only, unchanged, moved])
    by_case = {(c.start_day, c.working_days): c for c in changes}
    assert set(by_case) == {moved, flag_only}
    assert by_case[moved].before.due_date == before.add_working_days(*moved)
    assert by_case[moved].after.due_date == date(2027, 2, 13) != by_case[moved].before.due_date
    assert by_case[flag_only].before.due_date == by_case[flag_only].after.due_date
    assert by_case[flag_only].before.provisional and not by_case[flag_only].after.provisional
    assert changed_deadlines(after, after, [moved, flag_only]) == []


def test_a_bad_new_file_is_refused_and_the_current_calendar_stays(calendar_dir):
    live = LiveCalendar(calendar_dir)
    current = live.current
    (calendar_dir / "2027.yaml").write_text(NOTICE_2027.replace("[2027-02-13]", "[2027-02-15]"), encoding="utf-8")
    with pytest.raises(CalendarError, match=r"2027.yaml.*2027-02-15 is a Monday"):
        live.reload_if_changed()
    assert live.current is current and live.is_provisional(2027)


def test_an_edited_file_is_noticed_by_its_modification(calendar_dir):
    live = LiveCalendar(calendar_dir)
    path = calendar_dir / "2026.yaml"
    text = path.read_text(encoding="utf-8").replace("国庆节: [2026-09-20, 2026-10-10]", "国庆节: [2026-09-20]")
    assert "国庆节: [2026-09-20]" in text
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    before, after = live.reload_if_changed()
    assert before.is_working_day(date(2026, 10, 10)) and not after.is_working_day(date(2026, 10, 10))
    assert calendars.load_calendar().is_working_day(date(2026, 10, 10))  # the shipped files are untouched
