"""Data files: local adjustments layered over the national calendar, and bad files reported clearly."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

import calendars
from calendars import CalendarError
from calendars.sources import DEFAULT_CALENDAR_DIR


@pytest.fixture
def calendar_dir(tmp_path: Path) -> Path:
    target = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, target)
    return target


def write_local(calendar_dir: Path, name: str, body: str) -> None:
    (calendar_dir / "local" / f"{name}.yaml").write_text(body, encoding="utf-8")


LOCAL = """
jurisdiction: testdistrict
name_zh: 测试区
name_en: Test District
adjustments:
  - date: 2026-03-09
    status: rest
    reason_zh: 区运动会
    reason_en: district games
    document_number: 测政办发〔2026〕1号
  - date: 2026-03-14
    status: working
    reason_zh: 补区运动会
    reason_en: make-up for the district games
    document_number: 测政办发〔2026〕1号
"""


def test_local_adjustments_layer_over_the_national_calendar(calendar_dir):
    write_local(calendar_dir, "testdistrict", LOCAL)
    national = calendars.load_calendar(calendar_dir)
    local = calendars.load_calendar(calendar_dir, jurisdiction="testdistrict")
    monday, saturday = date(2026, 3, 9), date(2026, 3, 14)
    assert national.is_working_day(monday) and not national.is_working_day(saturday)
    assert not local.is_working_day(monday) and local.is_working_day(saturday)
    assert national.add_working_days(date(2026, 3, 6), 1) == monday
    assert local.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 10)
    assert local.working_days_between(date(2026, 3, 6), date(2026, 3, 16)) == national.working_days_between(date(2026, 3, 6), date(2026, 3, 16))
    explanation = local.explain(date(2026, 3, 6), 6)
    skipped = {s.day: s for s in explanation.skipped}
    counted = {c.day: c for c in explanation.counted}
    assert "区运动会" in skipped[monday].reason_zh and skipped[monday].source == "测政办发〔2026〕1号"
    assert "补区运动会" in counted[saturday].note_zh and "district games" in counted[saturday].note_en
    assert "测试区" in explanation.text_zh()
    summary = local.year_summary(2026)
    assert [s.day for s in summary.local_days] == [monday, saturday]


def test_the_shipped_yuhua_file_loads():
    cal = calendars.load_calendar(jurisdiction="yuhua")
    assert cal.jurisdiction == "yuhua"
    assert cal.local is not None and cal.local.name_zh == "长沙市雨花区"


def test_unknown_jurisdiction_is_an_error_naming_the_file(calendar_dir):
    with pytest.raises(CalendarError, match="nowhere.yaml"):
        calendars.load_calendar(calendar_dir, jurisdiction="nowhere")


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda t: t.replace("year: 2026", "year: 2025"), "'year' is 2025"),
        (lambda t: t.replace("国庆节: [2026-09-20", "国庆节: [2026-09-21"), "is a Monday"),
        (lambda t: t.replace("document_number: 国办发明电〔2025〕7号", "document_number: ''"), "document_number is missing"),
        (lambda t: t.replace("春节: [2026-02-15", "春假: [2026-02-15"), "no English form"),
        (lambda t: t.replace("春节: [2026-02-15", "春节: [2026-02-30"), "not a date"),
        (lambda t: t.replace("rest_days:", "rest_days: [\n"), "not valid YAML"),
        (lambda t: t.replace("国庆节: [2026-09-20", "国庆节: [2026-10-01"), "both as a rest day"),
    ],
)
def test_bad_notice_file_is_reported_with_file_and_problem(calendar_dir, edit, problem):
    path = calendar_dir / "2026.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(CalendarError) as error:
        calendars.load_calendar(calendar_dir)
    assert "2026.yaml" in str(error.value)
    assert problem in str(error.value)


def test_bad_local_adjustment_is_reported(calendar_dir):
    write_local(calendar_dir, "testdistrict", LOCAL.replace("status: rest", "status: holiday"))
    with pytest.raises(CalendarError, match=r"testdistrict.yaml.*status is 'holiday'"):
        calendars.load_calendar(calendar_dir, jurisdiction="testdistrict")


def test_removing_a_year_file_makes_that_year_provisional(calendar_dir):
    (calendar_dir / "2015.yaml").unlink()
    cal = calendars.load_calendar(calendar_dir)
    assert cal.is_provisional(2015) and 2015 in cal.provisional_years
    assert cal.deadline(date(2015, 6, 1), 3).provisional_years == (2015,)
