"""Periods of the update cycles in Asia/Shanghai: boundaries, ISO weeks across years, parsing and the first whole one."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from models import periods
from models.periods import containing, first_whole_period, following, format_period, kind_of_cycle, parse_period
from tests.fakes import shanghai


@pytest.mark.parametrize("text, start, end, kind", [
    ("2026-11-20", date(2026, 11, 20), date(2026, 11, 20), periods.DAY),
    ("2026-W47", date(2026, 11, 16), date(2026, 11, 22), periods.WEEK),
    ("2026-W53", date(2026, 12, 28), date(2027, 1, 3), periods.WEEK),  # 2026 has 53 ISO weeks
    ("2025-W01", date(2024, 12, 30), date(2025, 1, 5), periods.WEEK),  # week 1 of 2025 starts in 2024
    ("2026-02", date(2026, 2, 1), date(2026, 2, 28), periods.MONTH),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), periods.MONTH),
    ("2026-12", date(2026, 12, 1), date(2026, 12, 31), periods.MONTH),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), periods.QUARTER),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), periods.QUARTER),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31), periods.HALF),
    ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), periods.HALF),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), periods.YEAR),
])
def test_a_period_string_names_its_days_and_is_written_back_the_same(text, start, end, kind):
    period = parse_period(text)
    assert (period.start, period.end, period.kind) == (start, end, kind)
    assert format_period(period) == text
    assert containing(kind, end) == period == containing(kind, start)


@pytest.mark.parametrize("text, says", [
    ("2026-W54", "week 54"), ("2025-W53", "week 53"), ("2026-13", "must be a period like"),
    ("2026-02-30", "not a day that exists"), ("2026-Q5", "must be a period like"), ("26-11", "must be a period"),
    ("2026-w47", "must be a period like"), ("2026-H3", "must be a period"), ("", "must be a period"),
])
def test_an_impossible_period_is_refused_saying_why(text, says):
    with pytest.raises(ValueError, match=says):
        parse_period(text)


def test_the_next_period_follows_without_a_gap_across_years():
    assert following(parse_period("2026-12-31")) == parse_period("2027-01-01")
    assert following(parse_period("2026-W53")) == parse_period("2027-W01")
    assert following(parse_period("2026-12")) == parse_period("2027-01")
    assert following(parse_period("2026-Q4")) == parse_period("2027-Q1")
    assert following(parse_period("2026-H2")) == parse_period("2027-H1")
    assert following(parse_period("2026")) == parse_period("2027")


def test_period_instants_are_midnights_in_shanghai():
    april = parse_period("2026-04")
    assert april.starts_at == shanghai(2026, 4, 1) == datetime(2026, 3, 31, 16, tzinfo=timezone.utc)
    assert april.ends_at == shanghai(2026, 5, 1)


@pytest.mark.parametrize("entered, kind, first", [
    (shanghai(2026, 3, 2, 10), periods.MONTH, "2026-04"),  # mid-month: the next month is the first whole one
    (shanghai(2026, 4, 1, 0, 0), periods.MONTH, "2026-04"),  # at its very start: that month is whole
    (shanghai(2026, 4, 1, 0, 1), periods.MONTH, "2026-05"),
    # 00:30 on 1 April in Shanghai is still 31 March in UTC: the day that counts is Shanghai's
    (datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc), periods.MONTH, "2026-05"),
    (datetime(2026, 3, 31, 15, 59, tzinfo=timezone.utc), periods.MONTH, "2026-04"),
    (shanghai(2026, 11, 18, 9), periods.WEEK, "2026-W48"),
    (shanghai(2026, 11, 20, 23, 59), periods.DAY, "2026-11-21"),
    (shanghai(2026, 8, 3, 9), periods.QUARTER, "2026-Q4"),
    (shanghai(2026, 8, 3, 9), periods.HALF, "2027-H1"),
    (shanghai(2026, 1, 1, 0), periods.YEAR, "2026"),
])
def test_the_first_whole_period_after_a_resource_enters(entered, kind, first):
    assert first_whole_period(kind, entered).text() == first


def test_cycles_map_to_period_kinds():
    assert kind_of_cycle("realtime") == kind_of_cycle("daily") == periods.DAY
    assert kind_of_cycle("half-yearly") == periods.HALF
    assert kind_of_cycle("irregular") is None and kind_of_cycle(None) is None
    assert periods.limit_cycle("realtime") == "daily" and periods.limit_cycle("weekly") == "weekly"
    assert set(periods.KIND_OF_CYCLE) == set(periods.CYCLES)
