"""Obligations as plain values: deterministic ids, deadlines, completion, overdue, policy versions."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from models.ids import obligation_id
from models.obligations import Trigger, complete, mark_overdue, open_obligation, reschedule
from tests.fakes import WeekendCalendar, real_policies, shanghai

CAL = WeekendCalendar()
POLICY = real_policies().policy_for(date(2026, 3, 2), "yuhua")
TRIGGER = Trigger("/yuhua/legal-affairs", "evt-1", "gov.catalog.regulation.changed", date(2026, 3, 2), "法律法规修订")


def new(policy=POLICY, calendar=CAL):
    return open_obligation(trigger=TRIGGER, department="jyj", policy=policy,
                           kind=policy.obligations["catalog-update"], calendar=calendar, reminder_time="09:00",
                           now=shanghai(2026, 3, 2, 10))


def test_obligation_ids_are_deterministic_and_distinguish_each_part():
    base = obligation_id("catalog-update", "/s", "e", "jyj")
    assert base == obligation_id("catalog-update", "/s", "e", "jyj")
    assert len({base, obligation_id("catalog-update", "/s", "e", "mzj"),
                obligation_id("catalog-update", "/t", "e", "jyj"),
                obligation_id("data-verification", "/s", "e", "jyj")}) == 4
    assert new().id == obligation_id("catalog-update", "/yuhua/legal-affairs", "evt-1", "jyj")


def test_deadline_is_the_end_of_the_fifteenth_working_day():
    ob = new()
    assert ob.due_date == date(2026, 3, 23)
    assert ob.due_end == shanghai(2026, 3, 24)
    assert not ob.is_past_deadline(shanghai(2026, 3, 23, 23, 59)) and ob.is_past_deadline(shanghai(2026, 3, 24))


def test_a_new_policy_version_with_another_limit_leaves_opened_obligations_alone():
    old = new()
    stricter = replace(POLICY, version="2026.2", obligations={
        **POLICY.obligations, "catalog-update": replace(POLICY.obligations["catalog-update"], working_days=10)})
    fresh = new(policy=stricter)
    assert (old.working_days, old.policy_version, old.due_date) == (15, POLICY.version, date(2026, 3, 23))
    assert (fresh.working_days, fresh.policy_version, fresh.due_date) == (10, "2026.2", date(2026, 3, 16))


def test_completion_on_time_and_late_uses_the_time_in_the_event():
    on_time, late = new(), new()
    complete(on_time, at=shanghai(2026, 3, 23, 23, 59), by_event_id="c-1", calendar=CAL)
    complete(late, at=shanghai(2026, 3, 24, 0, 0), by_event_id="c-2", calendar=CAL)
    assert (on_time.status, on_time.on_time, on_time.working_days_taken) == ("completed", True, 15)
    assert (late.on_time, late.working_days_taken) == (False, 16)
    with pytest.raises(ValueError):
        complete(on_time, at=shanghai(2026, 3, 25), by_event_id="c-3", calendar=CAL)


def test_overdue_only_after_the_end_and_only_from_open():
    ob = new()
    with pytest.raises(ValueError):
        mark_overdue(ob, shanghai(2026, 3, 23, 12))
    mark_overdue(ob, shanghai(2026, 3, 24))
    assert (ob.status, ob.next_reminder_at) == ("overdue", None)
    complete(ob, at=shanghai(2026, 3, 25), by_event_id="c-1", calendar=CAL)
    assert (ob.status, ob.on_time) == ("completed", False)


def test_reschedule_follows_a_calendar_that_adds_a_holiday():
    ob = new(calendar=WeekendCalendar(provisional_from_year=2026))
    assert ob.provisional
    official = WeekendCalendar(holidays={date(2026, 3, 10)})
    assert reschedule(ob, calendar=official)
    assert (ob.due_date, ob.provisional) == (date(2026, 3, 24), False)
    assert not reschedule(ob, calendar=official)
