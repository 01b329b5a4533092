"""Every day from 2004-01-01 through the last year chinese_calendar supports, checked against it.

chinese_calendar is maintained from the State Council notices. Where it and the
``holidays`` package disagree, the notice decides and the year's data file
records the difference with the notice's document number; those are the only
days on which this calendar may differ from chinese_calendar, and only as recorded.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

import calendars
from calendars.sources import DEFAULT_CALENDAR_DIR, differences, notice_files

import chinese_calendar  # test-only dependency (pyproject [test]); the check must run, never skip
import holidays

FIRST = date(2004, 1, 1)
LAST = max(chinese_calendar.holidays).replace(month=12, day=31)


@pytest.fixture(scope="module")
def cal():
    return calendars.load_calendar()


@pytest.fixture(scope="module")
def recorded() -> dict[date, dict]:
    found: dict[date, dict] = {}
    for year, path in notice_files(DEFAULT_CALENDAR_DIR).items():
        for item in differences(path):
            found[item["date"]] = {**item, "year": year}
    return found


def days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def test_every_day_matches_chinese_calendar_except_recorded_notice_corrections(cal, recorded):
    assert LAST.year >= 2026
    mismatches = []
    checked = 0
    for day in days(FIRST, LAST):
        ours = cal.is_working_day(day)
        theirs = chinese_calendar.is_workday(day)
        checked += 1
        if ours == theirs:
            continue
        record = recorded.get(day)
        if record is None or record["chinese_calendar"] != ("working" if theirs else "rest"):
            mismatches.append(day)
        else:
            assert ours == (record["notice"] == "working"), day
    assert checked == (LAST - FIRST).days + 1
    assert mismatches == [], f"unrecorded differences from chinese_calendar: {mismatches[:10]}"


def test_every_disagreement_between_the_two_libraries_is_recorded_and_resolved(cal, recorded):
    china = holidays.China(years=range(FIRST.year - 1, LAST.year + 2))
    disagreements = [d for d in days(FIRST, LAST) if china.is_working_day(d) != chinese_calendar.is_workday(d)]
    assert disagreements, "expected at least the known 2005-12-31 disagreement"
    for day in disagreements:
        assert day in recorded, f"{day}: holidays and chinese_calendar disagree but no data file records it"
        record = recorded[day]
        assert record["holidays_package"] == ("working" if china.is_working_day(day) else "rest")
        assert record["chinese_calendar"] == ("working" if chinese_calendar.is_workday(day) else "rest")
        assert cal.is_working_day(day) == (record["notice"] == "working")
        assert re.search(r"国(办)?发明电〔\d{4}〕\d+号", record["citation"])
    # Where both libraries agree, so does this calendar (the files never drift from both).
    agreed_but_different = [
        d for d in days(FIRST, LAST)
        if china.is_working_day(d) == chinese_calendar.is_workday(d) != cal.is_working_day(d)
    ]
    assert agreed_but_different == []


def test_2005_12_31_follows_the_2006_notice(cal, recorded):
    # 国办发明电〔2005〕35号：“12月31日(星期六)上班”; chinese_calendar has it as a rest day.
    assert cal.is_working_day(date(2005, 12, 31))
    assert recorded[date(2005, 12, 31)]["citation"].startswith("国办发明电〔2005〕35号")


def test_each_published_year_has_a_notice_file_with_its_document_number(cal):
    for year in range(FIRST.year, LAST.year + 1):
        notice = cal.notices[year]
        assert re.fullmatch(r"国(办)?发明电〔\d{4}〕\d+号", notice.document_number), year
        assert notice.issued is not None and notice.issued.year in (year - 1, year)
        assert not cal.is_provisional(year)
    assert cal.notices[2026].document_number == "国办发明电〔2025〕7号"
    assert cal.is_provisional(2027) and 2027 not in cal.notices


def test_make_up_days_are_weekend_days_and_rest_days_of_the_notice_are_not_worked(cal):
    for notice in cal.notices.values():
        for day in notice.make_up_days:
            assert day.weekday() >= 5 and cal.is_working_day(day), day
        for day in notice.rest_days:
            if day >= cal.first_day:
                assert not cal.is_working_day(day), day


def test_days_changed_by_a_later_document_cite_it(cal):
    # 国发明电〔2015〕1号 created the 3–5 September 2015 rest days and the 6 September make-up Sunday.
    victory = cal.explain(date(2015, 9, 2), 2)
    assert {s.day: s.source for s in victory.skipped}[date(2015, 9, 3)] == "国发明电〔2015〕1号"
    assert victory.counted[0].day == date(2015, 9, 6) and victory.counted[0].source == "国发明电〔2015〕1号"
    # 国办发明电〔2019〕3号 changed Labour Day 2019 (1–4 May, 5 May worked): both documents are cited.
    labour = cal.explain(date(2019, 4, 30), 1)
    assert labour.due_date == date(2019, 5, 5)
    assert labour.skipped[0].source == "国办发明电〔2018〕15号、国办发明电〔2019〕3号"
    # 国办发明电〔2020〕1号 extended the 2020 Spring Festival to 2 February: 1 February is no longer worked.
    assert not cal.is_working_day(date(2020, 2, 1))
    assert "国办发明电〔2020〕1号" in cal.explain(date(2020, 1, 23), 1).skipped[-1].source
