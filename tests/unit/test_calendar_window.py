"""The year-end window: the last days of a year wait for the next year's notice too.

A year's notice has often changed the December before it (2005-12-31 worked for 2006,
2018-12-29 worked and 2018-12-31 off for 2019, ...). While Y+1 has no notice, a deadline
counted across Y's window (26–31 December, ``calendar.yaml``) is provisional, because of Y+1.
"""
from __future__ import annotations

import random
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

import calendars
from calendars import CalendarError, changed_days, changed_deadlines
from calendars.sources import DEFAULT_CALENDAR_DIR, load_shared

# Not a real notice: a plausible 2027 arrangement, only to show what loading "the 2027 file" does.
MADE_UP_2027 = """\
# NOT a real notice: test data for the year-end window.
year: 2027
notice:
  title: 国务院办公厅关于2027年部分节假日安排的通知（测试用，虚构）
  document_number: 国办发明电〔2026〕99号
  date: 2026-11-20
rest_days:
  元旦: [2026-12-31, 2027-01-01, 2027-01-02, 2027-01-03]
make_up_working_days:
  元旦: [2026-12-26]
"""


@pytest.fixture(scope="module")
def cal():
    return calendars.load_calendar()


@pytest.fixture
def calendar_dir(tmp_path: Path) -> Path:
    target = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, target)
    return target


def with_2027(calendar_dir: Path):
    (calendar_dir / "2027.yaml").write_text(MADE_UP_2027, encoding="utf-8")
    return calendars.load_calendar(calendar_dir)


def test_the_stored_window_covers_every_reach_back_of_the_notices_with_its_margin(cal):
    shared = load_shared(DEFAULT_CALENDAR_DIR)
    reach_backs = {
        day for notice in cal.notices.values()
        for day in (*notice.rest_days, *notice.make_up_days) if day.year == notice.year - 1
    }
    # The reach-backs calendar.yaml's comment derives the window from are all there.
    assert {date(2005, 12, 31), date(2006, 12, 30), date(2007, 12, 29), date(2011, 12, 31),
            date(2018, 12, 29), date(2018, 12, 31)} <= reach_backs
    assert all(day.month == 12 for day in reach_backs)
    earliest = min(day.day for day in reach_backs)
    assert earliest == 29
    assert shared.year_end_first_day <= earliest - shared.year_end_margin_days
    assert (shared.year_end_first_day, shared.year_end_margin_days) == (26, 3)
    assert cal.year_end_window(2026) == (date(2026, 12, 26), date(2026, 12, 31))


def test_a_deadline_across_late_december_of_the_last_official_year_is_provisional(cal):
    across = cal.deadline(date(2026, 12, 24), 3)  # 25, 28, 29 December: all in 2026, which has its notice
    assert across.due_date == date(2026, 12, 29)
    assert across.provisional and across.provisional_years == (2027,)
    before_window = cal.deadline(date(2026, 12, 18), 5)  # 21–25 December
    assert before_window.due_date == date(2026, 12, 25) and not before_window.provisional
    assert not cal.deadline(date(2026, 12, 28), 0).provisional  # nothing counted
    # An earlier December is settled: its next year's notice is loaded.
    assert cal.deadline(date(2025, 12, 24), 3).provisional_years == ()
    assert [cal.is_day_provisional(date(2026, 12, d)) for d in (25, 26, 31)] == [False, True, True]


def test_the_explanation_says_why_in_chinese_and_english(cal):
    explanation = cal.explain(date(2026, 12, 24), 3)
    zh, en = explanation.text_zh(), explanation.text_en()
    assert "2027 年的国务院节假日安排尚未载入" in zh and "2026-12-26 至 2026-12-31" in zh
    assert "只按法定节日推算" not in zh  # no day of 2027 itself is counted
    assert "no State Council notice is loaded for 2027" in en and "2026-12-26 to 2026-12-31" in en
    assert "statutory holidays only" not in en
    assert explanation.to_dict()["year_end_windows"] == [
        {"missing_year": 2027, "first_day": "2026-12-26", "last_day": "2026-12-31"}]
    # Counted into 2027: both reasons, once each.
    both = cal.explain(date(2026, 12, 20), 10)
    assert both.provisional_years == (2027,)
    assert both.text_zh().count("【暂定】") == 2 and "只按法定节日推算" in both.text_zh()
    # Started on the last day of the window: the window itself is not counted.
    after = cal.explain(date(2026, 12, 31), 2)
    assert after.provisional_years == (2027,) and after.year_end_windows == ()
    assert cal.explain(date(2026, 12, 1), 5).text_zh().count("【暂定】") == 0


def test_adding_the_next_notice_clears_the_window_and_opens_the_next_one(calendar_dir):
    official = with_2027(calendar_dir)
    cleared = official.deadline(date(2026, 12, 24), 3)
    assert not cleared.provisional
    assert cleared.due_date == date(2026, 12, 28)  # the made-up notice works Saturday 26 December
    assert "【暂定】" not in official.explain(date(2026, 12, 24), 3).text_zh()
    assert official.deadline(date(2027, 12, 23), 3).provisional_years == (2028,)
    assert official.year_end_windows_between(date(2027, 12, 23), date(2027, 12, 28))[0].missing_year == 2028


def test_provisional_flags_agree_with_a_day_by_day_walk(cal, calendar_dir):
    def walk(c, start: date, due: date) -> tuple[int, ...]:
        years, day = set(), start + timedelta(days=1)
        while day <= due:
            if day.year not in c.notices:
                years.add(day.year)
            if day.month == 12 and day.day >= 26 and day.year + 1 not in c.notices:
                years.add(day.year + 1)
            day += timedelta(days=1)
        return tuple(sorted(years))

    rng = random.Random(2026_12_01)
    for c in (cal, with_2027(calendar_dir)):
        tables = c.day_tables()
        for _ in range(1500):
            start = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 365 * 6 + 300))
            deadline = c.deadline(start, rng.randint(0, 40))
            assert deadline.provisional_years == walk(c, start, deadline.due_date), start
            i, j = tables.index_of[start.isoformat()], tables.index_of[deadline.due_date.isoformat()]
            assert tables.provisional(i, j) == deadline.provisional


def test_the_last_supported_year_waits_for_the_year_after_it(cal):
    assert cal.last_day == date(2030, 12, 31)
    assert cal.deadline(date(2030, 12, 20), 5).provisional_years == (2030, 2031)


def test_changed_days_lists_exactly_the_days_a_new_notice_changes(cal, calendar_dir):
    assert changed_days(cal, calendars.load_calendar()) == ()
    official = with_2027(calendar_dir)
    changed = changed_days(cal, official)
    assert changed == tuple(sorted(changed))
    # The window's days lose their provisional flag, and so does every day of 2027 but its own
    # window, which now waits for 2028.
    assert {date(2026, 12, d) for d in range(26, 32)} <= set(changed)
    assert {d for d in changed if d.year == 2027} == {date(2027, 1, 1) + timedelta(days=k) for k in range(359)}
    assert min(changed) == date(2026, 12, 26)
    # A change of working status alone (one make-up day fewer in 2026) is one day.
    path = calendar_dir / "2026.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(", 2026-10-10]", "]"), encoding="utf-8")
    assert changed_days(official, calendars.load_calendar(calendar_dir)) == (date(2026, 10, 10),)
    # Every deadline a notice moves counts across one of the changed days.
    days = set(changed)
    rng = random.Random(7)
    cases = [(date(2026, 9, 1) + timedelta(days=rng.randrange(0, 300)), rng.randint(0, 30)) for _ in range(800)]
    moved = changed_deadlines(cal, official, cases)
    assert moved
    for change in moved:
        last = max(change.before.due_date, change.after.due_date)
        assert any(change.start_day < d <= last for d in days), change


def test_changed_days_across_calendars_of_different_ranges(calendar_dir):
    short = calendars.load_calendar(calendar_dir)
    (calendar_dir / "2031.yaml").write_text(
        "year: 2031\nnotice:\n  document_number: 国办发明电〔2030〕1号（测试用，虚构）\n", encoding="utf-8")
    longer = calendars.load_calendar(calendar_dir)
    assert longer.last_day == date(2031, 12, 31)
    changed = changed_days(short, longer)
    assert changed == changed_days(longer, short)
    # Only the days 2031 adds; 2030 stays provisional in both (it has no notice of its own).
    assert changed == tuple(date(2031, 1, 1) + timedelta(days=k) for k in range(365))


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.replace('first_day: "12-26"', 'first_day: "11-30"'), "must be a day of December"),
    (lambda t: t.replace('first_day: "12-26"', 'first_day: "12-32"'), "is not a day of the year"),
    (lambda t: t.replace("margin_days: 3", "margin_days: -1"), "margin_days must be"),
    (lambda t: t.replace('from: "11-01"', "from: soon"), "missing_notice_warning.from"),
    (lambda t: t.replace("“十一”: 国庆节", "“十一”: 国庆"), "holiday_aliases"),
])
def test_a_bad_window_setting_is_refused_naming_the_file(calendar_dir, edit, problem):
    path = calendar_dir / "calendar.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(CalendarError, match=problem) as raised:
        calendars.load_calendar(calendar_dir)
    assert "calendar.yaml" in str(raised.value)
