"""Legal counting (民法典 第二百零一条、第二百零三条) on the national calendar.

Expected dates come from the State Council notices themselves (quoted beside
each case); a seeded property test checks the arithmetic against a day-by-day walk.
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import calendars
from calendars import OutOfRange

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal():
    return calendars.load_calendar()


def walk(cal, start: date, n: int) -> date:
    """Reference: step one day at a time, counting working days (start not counted)."""
    day, left = start, n
    step = timedelta(days=1 if n >= 0 else -1)
    while left:
        day += step
        if cal.is_working_day(day):
            left -= 1 if n > 0 else -1
    return day


# 2026 notice (国办发明电〔2025〕7号): 春节 2月15日至23日放假调休，2月14日（周六）、2月28日（周六）上班。
def test_spring_festival_block_is_skipped_and_make_up_saturdays_count(cal):
    for day in (date(2026, 2, 15) + timedelta(days=k) for k in range(9)):
        assert not cal.is_working_day(day), day
    assert cal.is_working_day(date(2026, 2, 14)) and date(2026, 2, 14).weekday() == 5
    assert cal.is_working_day(date(2026, 2, 28)) and date(2026, 2, 28).weekday() == 5
    # From Friday 13 February: day 1 is the make-up Saturday, day 2 the first day after the block.
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    # An event on a holiday: counting still starts the next day and skips the rest of the block.
    assert cal.add_working_days(date(2026, 2, 17), 1) == date(2026, 2, 24)


# 2026 notice: 国庆节 10月1日至7日放假调休，9月20日（周日）、10月10日（周六）上班。
def test_national_day_block_and_make_up_sunday(cal):
    assert cal.is_working_day(date(2026, 9, 20)) and date(2026, 9, 20).weekday() == 6
    assert cal.add_working_days(date(2026, 9, 19), 1) == date(2026, 9, 20)
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_start_day_is_never_counted_and_zero_returns_the_day(cal):
    monday = date(2026, 3, 2)
    assert cal.is_working_day(monday)
    assert cal.add_working_days(monday, 1) == date(2026, 3, 3)
    assert cal.add_working_days(date(2026, 10, 1), 0) == date(2026, 10, 1)
    assert cal.deadline(date(2026, 10, 1), 0).due_date == date(2026, 10, 1)


# 2026 notice: 元旦 1月1日（周四）至3日（周六）放假调休，1月4日（周日）上班。
def test_year_end_crossing_new_year_with_make_up_sunday(cal):
    assert cal.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert cal.add_working_days(date(2026, 1, 4), -1) == date(2025, 12, 31)
    assert cal.working_days_between(date(2025, 12, 31), date(2026, 1, 4)) == 1


# 2006 notice (国办发明电〔2005〕35号): 元旦 “12月31日(星期六)上班” — a make-up day in the previous year.
def test_make_up_day_in_december_of_the_previous_year(cal):
    assert cal.is_working_day(date(2005, 12, 31))
    assert cal.add_working_days(date(2005, 12, 30), 1) == date(2005, 12, 31)
    assert cal.add_working_days(date(2005, 12, 31), 1) == date(2006, 1, 4)


def test_deadline_end_is_24_00_shanghai_of_the_due_day(cal):
    deadline = cal.deadline(date(2026, 9, 25), 15)
    assert deadline.due_date == cal.add_working_days(date(2026, 9, 25), 15)
    assert deadline.end == datetime(2026, 10, 23, 0, 0, tzinfo=SHANGHAI)
    assert deadline.end.utcoffset() == timedelta(hours=8)
    assert deadline.end - datetime.combine(deadline.due_date, datetime.min.time(), SHANGHAI) == timedelta(days=1)
    assert not deadline.provisional and deadline.provisional_years == ()
    with pytest.raises(ValueError):
        cal.deadline(date(2026, 9, 25), -1)


def test_arithmetic_agrees_with_a_day_by_day_walk(cal):
    rng = random.Random(20260925)
    for _ in range(400):
        start = date(2004, 3, 1) + timedelta(days=rng.randrange(0, 365 * 26))
        n = rng.randint(-40, 40)
        due = cal.add_working_days(start, n)
        assert due == walk(cal, start, n), (start, n)
        if n >= 0:  # n working days in (start, due]
            assert cal.working_days_between(start, due) == n
            assert cal.working_days_between(due, start) == -n
        else:  # -n working days in [due, start)
            one = timedelta(days=1)
            assert cal.working_days_between(due - one, start - one) == -n
    d = date(2026, 10, 9)
    assert cal.next_working_day(d) == date(2026, 10, 10)
    assert cal.previous_working_day(date(2026, 10, 8)) == date(2026, 9, 30)


def test_working_days_left_uses_the_local_date_in_shanghai(cal):
    due = date(2026, 10, 22)  # a Thursday
    assert cal.working_days_left(datetime(2026, 10, 21, 15, 59, tzinfo=timezone.utc), due) == 1  # 23:59 local, 21st
    assert cal.working_days_left(datetime(2026, 10, 21, 16, 0, tzinfo=timezone.utc), due) == 0  # 00:00 local, 22nd
    assert cal.working_days_left(datetime(2026, 10, 23, 9, 0, tzinfo=SHANGHAI), due) == -1
    # (30 Sep, 22 Oct]: 8, 9, 10 (make-up Saturday), 12–16, 19–22 October.
    assert cal.working_days_left(datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI), due) == 12
    with pytest.raises(ValueError):
        cal.working_days_left(datetime(2026, 10, 21, 9, 0), due)


def test_provisional_year_2027_is_named_by_results_touching_it(cal):
    assert cal.is_provisional(2027) and not cal.is_provisional(2026)
    inside = cal.deadline(date(2026, 12, 1), 5)
    assert inside.provisional_years == () and not inside.provisional
    across = cal.deadline(date(2026, 12, 20), 10)
    assert across.due_date.year == 2027
    assert across.provisional and across.provisional_years == (2027,)
    assert cal.provisional_years_between(date(2026, 6, 1), date(2029, 1, 1)) == (2027, 2028, 2029)
    assert cal.provisional_years_between(date(2029, 1, 1), date(2026, 6, 1)) == (2027, 2028, 2029)
    assert cal.provisional_years_between(date(2026, 6, 1), date(2026, 12, 25)) == ()
    # 26–31 December 2026 wait for the 2027 notice too (the year-end window, see test_calendar_window).
    assert cal.provisional_years_between(date(2026, 6, 1), date(2026, 12, 31)) == (2027,)
    explanation = cal.explain(date(2026, 12, 20), 10)
    assert "2027" in explanation.text_zh() and "暂定" in explanation.text_zh()
    assert "PROVISIONAL" in explanation.text_en() and "2027" in explanation.text_en()
    assert explanation.to_dict()["provisional_years"] == [2027]
    # 2027's rest days come from the statutory holidays only (元旦 1 January 2027 is a Friday).
    assert not cal.is_working_day(date(2027, 1, 1))


def test_out_of_range_dates_raise(cal):
    with pytest.raises(OutOfRange):
        cal.is_working_day(date(2003, 12, 31))
    with pytest.raises(OutOfRange):
        cal.add_working_days(date(2031, 1, 1), 1)
    with pytest.raises(OutOfRange):
        cal.add_working_days(date(2030, 12, 20), 30)
    with pytest.raises(OutOfRange):
        cal.add_working_days(date(2004, 1, 5), -5)
    assert cal.first_day == date(2004, 1, 1) and cal.last_day == date(2030, 12, 31)


def test_explanation_lists_counted_and_skipped_days_with_reasons(cal):
    explanation = cal.explain(date(2026, 9, 25), 15)
    deadline = explanation.deadline
    assert len(explanation.counted) == 15
    assert explanation.counted[-1].day == deadline.due_date
    window = {date(2026, 9, 25) + timedelta(days=k) for k in range(1, (deadline.due_date - date(2026, 9, 25)).days + 1)}
    assert {c.day for c in explanation.counted} | {s.day for s in explanation.skipped} == window
    counted = {c.day: c for c in explanation.counted}
    skipped = {s.day: s for s in explanation.skipped}
    assert "调休上班" in counted[date(2026, 10, 10)].note_zh
    assert "make-up working day" in counted[date(2026, 10, 10)].note_en
    assert counted[date(2026, 10, 10)].source == "国办发明电〔2025〕7号"
    assert counted[date(2026, 9, 28)].note_zh == ""
    assert skipped[date(2026, 10, 1)].reason_zh == "国庆节" and skipped[date(2026, 10, 1)].reason_en == "National Day"
    assert skipped[date(2026, 10, 17)].reason_zh == "周末" and skipped[date(2026, 10, 17)].reason_en == "weekend"
    text = explanation.text_zh()
    assert "第二百零一条" in text and "2026-10-10（星期六） 调休上班（国庆节）" in text and "国办发明电〔2025〕7号" in text
    assert "Spring Festival" in cal.explain(date(2026, 2, 13), 2).text_en()
    data = json.loads(json.dumps(explanation.to_dict(), ensure_ascii=False))
    assert data["due_date"] == deadline.due_date.isoformat()
    assert data["end"] == "2026-10-23T00:00:00+08:00"
    assert data["provisional"] is False
    assert len(data["counted"]) == 15 and {"date", "note_zh", "note_en"} <= set(data["counted"][0])
    assert {"date", "reason_zh", "reason_en"} <= set(data["skipped"][0])


def test_year_summary_lists_rest_and_make_up_days(cal):
    summary = cal.year_summary(2026)
    assert not summary.provisional and summary.notice.document_number == "国办发明电〔2025〕7号"
    make_up = [s.day for s in summary.make_up_days]
    assert make_up == sorted(make_up) and date(2026, 1, 4) in make_up and date(2026, 9, 20) in make_up
    assert all(d.weekday() >= 5 for d in make_up)
    rest = {s.day: s.reason.zh for s in summary.rest_days}
    assert rest[date(2026, 2, 15)] == "春节" and rest[date(2026, 10, 1)] == "国庆节"
    assert cal.year_summary(2027).provisional and cal.year_summary(2027).notice is None


def test_batch_day_tables_agree_with_deadline(cal):
    tables = cal.day_tables()
    rng = random.Random(7)
    for _ in range(2000):
        start = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 365 * 15))
        n = rng.randint(0, 60)
        expected = cal.deadline(start, n)
        i = tables.index_of[start.isoformat()]
        j = tables.due_index(i, n)
        assert tables.iso[j] == expected.due_date.isoformat()
        assert tables.end_iso[j] == expected.end.isoformat()
        assert tables.provisional(i, j) == expected.provisional
    assert "2031-01-01" not in tables.index_of and "2003-12-31" not in tables.index_of
