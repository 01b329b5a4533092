"""Reminder stages: when each goes out, once, and never as a burst of stale ones."""
from __future__ import annotations

from datetime import date, timedelta

from models.obligations import Trigger, open_obligation
from models.reminders import due_stage, next_reminder_at, send_reminder, stage_day
from tests.fakes import WeekendCalendar, real_policies, shanghai

CAL = WeekendCalendar()
POLICY = real_policies().policy_for(date(2026, 3, 2), "yuhua")


def obligation(start_day=date(2026, 3, 2), opened=None):
    trigger = Trigger("/yuhua/legal-affairs", "evt-1", "gov.catalog.regulation.changed", start_day, "法律法规修订")
    return open_obligation(trigger=trigger, department="jyj", policy=POLICY,
                           kind=POLICY.obligations["catalog-update"], calendar=CAL, reminder_time="09:00",
                           now=opened or shanghai(start_day.year, start_day.month, start_day.day, 10))


def test_stage_days_count_working_days_left_before_the_due_date():
    ob = obligation()
    assert ob.due_date == date(2026, 3, 23)  # Monday: 15 weekdays after Monday 2026-03-02
    assert stage_day(ob.due_date, 5, CAL) == date(2026, 3, 16)
    assert stage_day(ob.due_date, 1, CAL) == date(2026, 3, 20)  # Friday before the Monday due date
    assert stage_day(ob.due_date, 0, CAL) == date(2026, 3, 23)
    for stage in (5, 3, 1, 0):
        day = stage_day(ob.due_date, stage, CAL)
        assert CAL.working_days_left(shanghai(day.year, day.month, day.day, 9), ob.due_date) == stage


def test_each_stage_goes_out_once_at_the_reminder_time():
    ob = obligation()
    assert next_reminder_at(ob, CAL) == shanghai(2026, 3, 16, 9)
    assert due_stage(ob, shanghai(2026, 3, 16, 8, 59), CAL) is None
    sent = []
    now = shanghai(2026, 3, 2, 10)
    while now < ob.due_end:
        reminder = send_reminder(ob, now, CAL)
        if reminder:
            sent.append((reminder.stage, now, reminder.working_days_left))
        now += timedelta(hours=1)
    assert sent == [(5, shanghai(2026, 3, 16, 9), 5), (3, shanghai(2026, 3, 18, 9), 3),
                    (1, shanghai(2026, 3, 20, 9), 1), (0, shanghai(2026, 3, 23, 9), 0)]
    assert ob.next_reminder_at is None


def test_an_obligation_arriving_late_gets_only_the_latest_due_stage():
    ob = obligation(opened=shanghai(2026, 3, 20, 15))  # stages 5, 3 and 1 are all past
    reminder = send_reminder(ob, shanghai(2026, 3, 20, 15), CAL)
    assert reminder.stage == 1 and reminder.working_days_left == 1
    assert send_reminder(ob, shanghai(2026, 3, 20, 16), CAL) is None
    assert ob.next_reminder_at == shanghai(2026, 3, 23, 9)
    assert send_reminder(ob, shanghai(2026, 3, 23, 9), CAL).stage == 0
    assert ob.stages_sent == (1, 0)


def test_no_reminder_once_the_deadline_has_passed():
    ob = obligation()
    assert due_stage(ob, ob.due_end, CAL) is None
    assert due_stage(ob, ob.due_end - timedelta(minutes=1), CAL) == 0


def test_reminder_time_from_the_policy_wins_over_the_setting():
    from dataclasses import replace

    policy = replace(POLICY, reminder_time="14:30")
    trigger = Trigger("/s", "e", "t", date(2026, 3, 2), "x")
    ob = open_obligation(trigger=trigger, department="jyj", policy=policy,
                         kind=policy.obligations["catalog-update"], calendar=CAL, reminder_time="09:00",
                         now=shanghai(2026, 3, 2, 10))
    assert next_reminder_at(ob, CAL) == shanghai(2026, 3, 16, 14, 30)


def test_a_catch_up_found_on_a_weekend_waits_for_the_next_working_morning():
    ob = obligation()  # stage 5 is due Monday 2026-03-16 09:00
    saturday = shanghai(2026, 3, 21, 10)  # the worker was down all week; stage 1 (Friday 20th) is the latest due
    assert send_reminder(ob, saturday, CAL) is None
    assert ob.next_reminder_at == shanghai(2026, 3, 23, 9)
    reminder = send_reminder(ob, shanghai(2026, 3, 23, 9), CAL)
    assert (reminder.stage, reminder.working_days_left) == (0, 0)
    assert ob.stages_sent == (0,)


def test_a_catch_up_before_the_reminder_time_waits_until_it():
    ob = obligation(opened=shanghai(2026, 3, 20, 7))  # stage 5 and 3 passed, stage 1 is today at 09:00
    assert send_reminder(ob, shanghai(2026, 3, 20, 7), CAL) is None
    assert ob.next_reminder_at == shanghai(2026, 3, 20, 9)
    assert send_reminder(ob, shanghai(2026, 3, 20, 9), CAL).stage == 1
