"""Data on time (第八条, 第十二条 → 第二十五条（二）) and opening on time (第二十条 → 第二十五条（八）) on fakes.

The weekend-only calendar: April 2026 ends on a Thursday, so April's data (5 working days after the month, the
shipped monthly limit) is due Thursday 7 May, 24:00.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from models import events as ev
from models.policy import PolicySet
from tests.fakes import (Harness, catalog_updated, data_aggregated, data_opened, real_policies, regulation_changed,
                         shanghai)

ACTIVITIES = "catalog.data-activities"


@pytest.fixture
def h():
    return Harness(shanghai(2026, 3, 2, 10))


def add(h, code="R-1", cycle="monthly", at="2026-03-02T10:00:00+08:00", event_id="c-0", department="tjj", **more):
    resource = {"code": code, "name": "统计月报", "action": "added", "update_cycle": cycle, "share_type": "conditional",
                "open_type": "none", **more}
    return h.feed(catalog_updated(event_id, department, at, resources=[resource]))


def aggregation_obligations(h, **where):
    return sorted(h.obligations(kind="data-aggregation", **where), key=lambda o: o.start_day)


def periods(h):
    return sorted((o.period, o.status) for o in aggregation_obligations(h))


def aggregated(h, period, at, event_id=None, code="R-1", department="tjj"):
    return h.feed(data_aggregated(event_id or f"a-{period}-{at}", department, code, period, at), topic=ACTIVITIES)


# ------------------------------------------------------------------ periods open as they begin

def test_the_first_obligation_is_the_first_whole_period_opened_when_it_begins(h):
    add(h)  # entered on 2 March: March is not whole, April is the first period owed
    assert h.state.catalog[("tjj", "R-1")].next_period == "2026-04"
    assert h.tracker.tick(shanghai(2026, 3, 31, 23, 59)).obligations_opened == 0
    result = h.tracker.tick(shanghai(2026, 4, 1, 0, 0))
    assert result.obligations_opened == 1
    ob, = aggregation_obligations(h)
    assert (ob.period, ob.resource_code, ob.start_day, ob.due_date, ob.working_days, ob.article) == (
        "2026-04", "R-1", date(2026, 4, 30), date(2026, 5, 7), 5, "第十二条")
    assert ob.subject_ref == "R-1/2026-04" and ob.trigger_event_id == "c-0" and ob.reminder_stages == (0,)
    opened, = h.outbox(ev.OBLIGATION_OPENED)
    assert (opened.cloudevent["data"]["resource_code"], opened.cloudevent["data"]["period"]) == ("R-1", "2026-04")
    assert h.tracker.tick(shanghai(2026, 4, 20, 9)).obligations_opened == 0  # the same period is not opened twice


def test_a_missed_period_is_one_violation_at_its_deadline_citing_item_two(h):
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    assert h.tracker.tick(shanghai(2026, 5, 7, 23, 59)).violations == 0
    result = h.tracker.tick(shanghai(2026, 5, 8, 0, 0))
    again = h.tracker.tick(shanghai(2026, 5, 9, 9, 0))
    assert (result.violations, again.violations) == (1, 0)
    violation, = h.state.violations.values()
    assert (violation.rule, violation.articles, violation.obligation_kind, violation.resource_code,
            violation.period) == ("overdue", ("第二十五条（二）",), "data-aggregation", "R-1", "2026-04")
    text = violation.explanation
    for words in ("区统计局（tjj）", "“统计月报”（R-1）", "2026-04 期（2026-04-01 至 2026-04-30）",
                  "2026-05-07（星期四） 24:00", "5 个工作日", "未按规定采集、汇聚、共享、开放政务数据资源",
                  "截至 2026-05-08 00:00 仍未归集", "计入 5 个工作日"):
        assert words in text, (words, text)
    data = h.outbox(ev.VIOLATION_DETECTED)[0].cloudevent["data"]
    assert (data["obligation"], data["resource_code"], data["period"]) == ("data-aggregation", "R-1", "2026-04")


def test_an_aggregation_in_time_completes_the_period_on_time(h):
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    aggregated(h, "2026-04", "2026-05-07T23:59:00+08:00")
    h.tracker.tick(shanghai(2026, 5, 20))
    ob = aggregation_obligations(h, period="2026-04")[0]
    assert (ob.status, ob.on_time, h.state.violations) == ("completed", True, {})
    entry = h.state.catalog[("tjj", "R-1")]
    assert (entry.last_aggregated_period, entry.last_aggregated_at) == ("2026-04", shanghai(2026, 5, 7, 23, 59))


def test_an_early_aggregation_completes_its_period_when_the_obligation_opens(h):
    add(h)
    aggregated(h, "2026-04", "2026-03-31T22:00:00+08:00")  # before the tick opened April
    assert aggregation_obligations(h) == [] and len(h.state.pending) == 1
    result = h.tracker.tick(shanghai(2026, 4, 1))
    assert (result.obligations_opened, result.obligations_completed) == (1, 1)
    ob, = aggregation_obligations(h)
    assert (ob.status, ob.on_time, ob.completed_by) == ("completed", True, "a-2026-04-2026-03-31T22:00:00+08:00")
    assert h.state.pending == {}
    assert any(what == "completed" and detail.get("note") for _, _, what, _, detail in h.state.history)


def test_a_late_aggregation_completes_late_and_the_violation_stays_once(h):
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    h.tracker.tick(shanghai(2026, 5, 8))  # overdue: the violation
    result = aggregated(h, "2026-04", "2026-05-12T10:00:00+08:00")
    ob = aggregation_obligations(h, period="2026-04")[0]
    assert (ob.status, ob.on_time, result.violations) == ("completed", False, 0)
    assert len(h.state.violations) == 1 and len(h.outbox(ev.VIOLATION_DETECTED)) == 1


def test_a_late_aggregation_before_any_tick_saw_it_overdue_is_one_violation_too(h):
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    h.clock.set(shanghai(2026, 5, 12, 11))
    assert aggregated(h, "2026-04", "2026-05-12T10:00:00+08:00").violations == 1
    assert h.tracker.tick(shanghai(2026, 5, 13)).violations == 0
    violation, = h.state.violations.values()
    assert "实际于 2026-05-12 10:00 才归集" in violation.explanation


def test_an_aggregation_for_a_period_before_the_first_one_owed_completes_nothing(h):
    add(h)
    aggregated(h, "2026-03", "2026-04-02T10:00:00+08:00")
    h.tracker.tick(shanghai(2026, 4, 3))
    assert periods(h) == [("2026-04", "open")] and h.state.pending == {}


def test_a_period_that_does_not_fit_the_cycle_is_dead_lettered_and_may_be_sent_again(h):
    add(h, cycle="weekly")
    result = aggregated(h, "2026-04", "2026-05-02T10:00:00+08:00", event_id="bad")
    assert (result.accepted, result.rejected) == (0, 1)
    letter, = h.outbox(ev.EVENT_REJECTED)
    assert letter.cloudevent["data"]["reason"] == ("data.period '2026-04' is a month, but resource 'R-1' has update "
                                                   "cycle weekly in the register: name an ISO week like 2026-W47")
    assert ("/yuhua/aggregation", "bad") not in h.state.processed


def test_the_tick_catches_up_every_period_that_began_while_nobody_ticked(h):
    add(h, cycle="weekly")  # Monday 2 March 10:00: the first whole week is W11 (9 March)
    h.clock.set(shanghai(2026, 3, 30, 10))
    result = h.tracker.tick()
    assert [p for p, _ in periods(h)] == ["2026-W11", "2026-W12", "2026-W13", "2026-W14"]
    assert result.violations == 2  # W11 (due Tue 17 Mar) and W12 (due Tue 24 Mar) were past their deadline


def test_realtime_counts_as_daily_and_irregular_owes_nothing(h):
    add(h, code="R-rt", cycle="realtime")
    add(h, code="R-ir", cycle="irregular", event_id="c-1")
    h.tracker.tick(shanghai(2026, 3, 3, 0))
    ob, = aggregation_obligations(h)
    assert (ob.resource_code, ob.period, ob.working_days, ob.due_date) == ("R-rt", "2026-03-03", 1, date(2026, 3, 4))
    assert h.state.catalog[("tjj", "R-ir")].next_period is None
    assert aggregated(h, "2026-03-05", "2026-03-05T10:00:00+08:00", code="R-ir").accepted == 1  # recorded, owes none


def test_the_tick_opens_in_work_proportional_to_the_entries_whose_period_began():
    h = Harness(shanghai(2026, 3, 2, 10))
    h.tracker.tick_limit = 2
    for i in range(3):
        add(h, code=f"R-{i}", cycle="daily", event_id=f"c-{i}")
    add(h, code="R-y", cycle="yearly", event_id="c-y")
    first = h.tracker.tick(shanghai(2026, 3, 3, 0))
    assert first.more_due is True and first.obligations_opened == 2  # at most tick_limit entries per tick
    second = h.tracker.tick(shanghai(2026, 3, 3, 0))
    assert (second.more_due, second.obligations_opened) == (False, 1)
    assert sorted(o.resource_code for o in aggregation_obligations(h)) == ["R-0", "R-1", "R-2"]
    assert h.state.catalog[("tjj", "R-y")].next_period == "2027"  # not due: not touched


# ------------------------------------------------------------------ cycle changes and removals

def test_a_cycle_change_cancels_the_future_periods_and_starts_the_new_cycle(h):
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    h.feed(catalog_updated("c-1", "tjj", "2026-04-15T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "update_cycle": "weekly"}]))
    assert periods(h) == [("2026-04", "cancelled")]
    cancelled, = h.outbox(ev.OBLIGATION_CANCELLED)
    assert cancelled.cloudevent["data"]["reason"] == "the resource's update cycle changed"
    entry = h.state.catalog[("tjj", "R-1")]
    assert (entry.next_period, entry.cycle_event_id) == ("2026-W17", "c-1")  # Monday 20 April
    h.tracker.tick(shanghai(2026, 4, 20))
    assert periods(h) == [("2026-04", "cancelled"), ("2026-W17", "open")]
    assert h.tracker.tick(shanghai(2026, 6, 1)).violations > 0
    assert not [v for v in h.state.violations.values() if v.period == "2026-04"]  # a cancelled period owes nothing


def test_a_cycle_change_keeps_the_periods_that_ended_and_opens_those_nobody_opened(h):
    add(h)
    # No tick ran in April or May: the change on 3 June owes April and May (ended), not June (in progress).
    h.clock.set(shanghai(2026, 6, 3, 11))
    h.feed(catalog_updated("c-1", "tjj", "2026-06-03T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "update_cycle": "quarterly"}]))
    assert periods(h) == [("2026-04", "overdue"), ("2026-05", "open")]  # May is due Friday 5 June
    assert h.state.catalog[("tjj", "R-1")].next_period == "2026-Q3"


def test_a_removed_resource_owes_no_period_after_it_left(h):
    add(h)
    h.tracker.tick(shanghai(2026, 5, 1))  # April and May open
    aggregated(h, "2026-04", "2026-05-06T10:00:00+08:00")
    h.feed(catalog_updated("c-1", "tjj", "2026-05-20T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "removed"}]))
    assert periods(h) == [("2026-04", "completed"), ("2026-05", "cancelled")]
    entry = h.state.catalog[("tjj", "R-1")]
    assert (entry.status, entry.next_period_start) == ("removed", None)
    assert h.tracker.tick(shanghai(2026, 8, 1)).obligations_opened == 0
    assert h.state.violations == {}


def test_a_removal_leaves_an_ended_period_still_owed(h):
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    h.feed(catalog_updated("c-1", "tjj", "2026-05-04T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "removed"}]))  # April ended; its deadline (7 May) has not passed
    assert periods(h) == [("2026-04", "open")]
    assert h.tracker.tick(shanghai(2026, 5, 8)).violations == 1


def test_a_limit_change_in_a_new_policy_does_not_change_an_obligation_already_open():
    h = Harness(shanghai(2026, 3, 2, 10))
    add(h)
    h.tracker.tick(shanghai(2026, 4, 1))
    longer = PolicySet(tuple(replace(p, obligations={**p.obligations, "data-aggregation": replace(
        p.obligations["data-aggregation"], working_days_by_cycle={
            **p.obligations["data-aggregation"].working_days_by_cycle, "monthly": 10})})
        for p in real_policies().policies))
    h.tracker.policies = longer
    h.tracker.tick(shanghai(2026, 5, 1))
    assert [(o.period, o.working_days) for o in aggregation_obligations(h)] == [("2026-04", 5), ("2026-05", 10)]


# ------------------------------------------------------------------ opening on time (第二十条)

def test_entering_the_open_list_opens_a_data_opening_obligation_completed_by_an_opening_on_the_platform(h):
    add(h, code="R-o", cycle="irregular", open_type="conditional")
    ob, = h.obligations(kind="data-opening")
    assert (ob.resource_code, ob.article, ob.working_days, ob.due_date) == ("R-o", "第二十条", 10, date(2026, 3, 16))
    h.feed(data_opened("o-1", "tjj", "R-o", "2026-03-10T10:00:00+08:00"), topic=ACTIVITIES)
    ob, = h.obligations(kind="data-opening")
    assert (ob.status, ob.on_time) == ("completed", True)


def test_an_opening_through_another_channel_does_not_fulfil_it_and_overdue_cites_item_eight(h):
    add(h, code="R-o", cycle="irregular", open_type="unconditional")
    h.feed(data_opened("o-1", "tjj", "R-o", "2026-03-10T10:00:00+08:00", channel="department-website"),
           topic=ACTIVITIES)
    assert h.obligations(kind="data-opening")[0].status == "open"
    h.tracker.tick(shanghai(2026, 3, 17))
    overdue = [v for v in h.state.violations.values() if v.rule == "overdue"]
    assert [(v.obligation_kind, v.articles) for v in overdue] == [("data-opening", ("第二十五条（八）",))]
    assert sorted(v.rule for v in h.state.violations.values()) == ["overdue", "unauthorised-channel"]


def test_leaving_the_open_list_cancels_the_opening_and_staying_on_it_opens_none(h):
    add(h, code="R-o", cycle="irregular", open_type="conditional")
    h.feed(catalog_updated("c-1", "tjj", "2026-03-03T10:00:00+08:00", resources=[
        {"code": "R-o", "action": "modified", "open_type": "unconditional"}]))
    assert len(h.obligations(kind="data-opening")) == 1  # still on the list: nothing new owed
    h.feed(catalog_updated("c-2", "tjj", "2026-03-04T10:00:00+08:00", resources=[
        {"code": "R-o", "action": "modified", "open_type": "none"}]))
    ob, = h.obligations(kind="data-opening")
    assert ob.status == "cancelled"
    assert h.outbox(ev.OBLIGATION_CANCELLED)[0].cloudevent["data"]["reason"] == "the resource left the open list"


def test_an_existing_resource_reported_with_an_open_previous_type_owes_no_opening(h):
    h.feed(catalog_updated("c-1", "tjj", "2026-03-03T10:00:00+08:00", resources=[
        {"code": "R-o", "action": "modified", "open_type": "unconditional", "previous_open_type": "unconditional"}]))
    assert h.obligations(kind="data-opening") == []


def test_catalog_updates_still_answer_their_triggers(h):
    h.feed(regulation_changed("reg-1", "2026-03-02", ["tjj"]))
    add(h, at="2026-03-04T10:00:00+08:00")
    ob, = h.obligations(kind="catalog-update")
    assert (ob.status, ob.on_time) == ("completed", True)
    assert timedelta(0) < ob.due_end - ob.completed_at
