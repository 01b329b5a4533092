"""Rescheduling in proportion to the change (issue 13), on the fakes: which obligations a changed day reaches
(a day on the start day, on the due date, just after it; a provisional flag clearing; a holiday and its make-up
day cancelling out), pages, an interrupted job resumed without moving anything twice, a worker that finds the
difference from the stored calendar by itself, a job superseded by a newer change."""
from __future__ import annotations

from datetime import date

import pytest

from models import events as ev
from models.rescheduling import (
    DONE,
    RUNNING,
    SUPERSEDED,
    DayFlags,
    covers,
    interval_touches,
    runs_of,
    union,
)
from tests.fakes import FakeStore, Harness, WeekendCalendar, regulation_changed, shanghai

D = date


def test_runs_union_and_cover():
    days = [D(2026, 3, 5), D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 9)]
    assert runs_of(days) == ((D(2026, 3, 2), D(2026, 3, 3)), (D(2026, 3, 5), D(2026, 3, 5)),
                             (D(2026, 3, 9), D(2026, 3, 9)))
    assert union(((D(2026, 3, 2), D(2026, 3, 3)),), ((D(2026, 3, 4), D(2026, 3, 4)),)) == (
        (D(2026, 3, 2), D(2026, 3, 4)),)
    assert union((), None) is None
    assert covers(None, ((D(2026, 3, 2), D(2026, 3, 2)),)) and covers(((D(2026, 3, 1), D(2026, 3, 9)),), ())
    assert not covers(((D(2026, 3, 1), D(2026, 3, 9)),), ((D(2026, 3, 9), D(2026, 3, 10)),))
    assert not covers((), None)


@pytest.mark.parametrize("day, touches", [
    (D(2026, 3, 2), False),  # the start day is never counted
    (D(2026, 3, 3), True),  # the first day counted
    (D(2026, 3, 23), True),  # the due date
    (D(2026, 3, 24), False),  # just after the due date
])
def test_a_changed_day_reaches_the_interval_start_exclusive_due_inclusive(day, touches):
    assert interval_touches(D(2026, 3, 2), D(2026, 3, 23), ((day, day),)) is touches
    assert interval_touches(D(2026, 3, 2), D(2026, 3, 23), None)  # unknown: every one


def test_day_flags_differ_where_working_or_provisional_status_differs():
    before = DayFlags.of(WeekendCalendar(provisional_from_year=2027))
    after = DayFlags.of(WeekendCalendar(holidays={D(2026, 3, 23)}))
    changed = before.differing_days(after)
    assert changed[0] == D(2026, 3, 23) and changed[1] == D(2027, 1, 1)
    assert len(changed) == 1 + sum(before.unsettled)  # the holiday, and every day of 2027 on (no longer provisional)
    assert before.differing_days(before) == [] and before.fingerprint != after.fingerprint
    shorter = DayFlags(before.first_day, before.working[:-10], before.unsettled[:-10])
    assert len(shorter.differing_days(before)) == 10  # a day in only one range differs


def harness_with(start_days: list[str], calendar=None) -> Harness:
    h = Harness(shanghai(2026, 3, 2, 10), calendar=calendar or WeekendCalendar())
    for i, day in enumerate(start_days):
        h.feed(regulation_changed(f"evt-{i}", day, ["jyj"]))
    return h


def rescheduled_events(h: Harness) -> list:
    return h.outbox(ev.OBLIGATION_RESCHEDULED)


def history_of(h: Harness, what: str = "rescheduled") -> list:
    return [entry for entry in h.state.history if entry[2] == what]


@pytest.mark.parametrize("holiday, examined, due", [
    (D(2026, 3, 2), 0, D(2026, 3, 23)),  # on the start day: nothing to look at, nothing moves
    (D(2026, 3, 23), 1, D(2026, 3, 24)),  # on the due date: pushed to the next working day
    (D(2026, 3, 24), 0, D(2026, 3, 23)),  # just after the due date: not examined, and rightly so
    (D(2026, 3, 10), 1, D(2026, 3, 24)),  # a working day inside becomes a rest day
])
def test_only_intervals_containing_a_changed_day_are_examined(holiday, examined, due):
    old = WeekendCalendar()
    h = harness_with(["2026-03-02"], old)
    ob, = h.obligations()
    assert (ob.start_day, ob.due_date) == (D(2026, 3, 2), D(2026, 3, 23))
    new = WeekendCalendar(holidays={holiday})
    h.tracker.calendar = new
    result = h.tracker.reschedule_for_calendar(old, new)
    assert (result.examined, result.moved, result.changed_days) == (examined, int(due != ob.due_date), 1)
    ob, = h.obligations()
    assert ob.due_date == due and len(rescheduled_events(h)) == result.moved
    assert ob.due_date == new.deadline(ob.start_day, ob.working_days).due_date  # the same as counting afresh


def test_a_rest_day_that_becomes_working_before_the_due_date_moves_it_earlier():
    old = WeekendCalendar()
    h = harness_with(["2026-03-02"], old)
    new = WeekendCalendar(extra_working_days={D(2026, 3, 14)})  # a make-up Saturday
    h.tracker.calendar = new
    assert h.tracker.reschedule_for_calendar(old, new).moved == 1
    assert h.obligations()[0].due_date == D(2026, 3, 20)


def test_a_holiday_and_its_make_up_day_inside_the_interval_are_examined_and_move_nothing():
    old = WeekendCalendar()
    h = harness_with(["2026-03-02"], old)
    new = WeekendCalendar(holidays={D(2026, 3, 10)}, extra_working_days={D(2026, 3, 14)})
    h.tracker.calendar = new
    result = h.tracker.reschedule_for_calendar(old, new)
    assert (result.examined, result.moved, result.changed_days) == (1, 0, 2)
    assert rescheduled_events(h) == [] and h.obligations()[0].due_date == D(2026, 3, 23)


def test_a_provisional_flag_clearing_moves_the_flag_once():
    provisional = WeekendCalendar(provisional_from_year=2026)
    h = harness_with(["2026-03-02", "2026-03-03"], provisional)
    assert all(o.provisional for o in h.obligations())
    official = WeekendCalendar()
    h.tracker.calendar = official
    result = h.tracker.reschedule_for_calendar(provisional, official)
    assert (result.examined, result.moved) == (2, 2)
    assert not any(o.provisional for o in h.obligations())
    assert [m.cloudevent["data"]["previous_provisional"] for m in rescheduled_events(h)] == [True, True]
    assert h.tracker.reschedule_for_calendar(provisional, official).examined == 0  # on that calendar already


def test_completed_obligations_are_left_alone():
    from tests.fakes import catalog_updated

    old = WeekendCalendar()
    h = Harness(shanghai(2026, 3, 2, 10), calendar=old)
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]))
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00"))
    new = WeekendCalendar(holidays={D(2026, 3, 10)})
    h.tracker.calendar = new
    result = h.tracker.reschedule_for_calendar(old, new)
    assert (result.examined, result.moved) == (1, 1)
    assert h.obligations(department="mzj")[0].due_date == D(2026, 3, 23)


def starts(n: int) -> list[str]:
    return [f"2026-03-{day:02d}" for day in (2, 3, 4, 5, 6, 9, 10)][:n]


def test_pages_of_bounded_size_each_commit_with_the_cursor():
    old = WeekendCalendar()
    h = harness_with(starts(5), old)
    new = WeekendCalendar(holidays={D(2026, 3, 11)})
    h.tracker.calendar = new
    seen = []
    result = h.tracker.reschedule_for_calendar(old, new, page_size=2, progress=seen.append)
    assert (result.examined, result.moved, result.pages, result.state) == (5, 5, 3, DONE)
    assert [(p.examined, p.moved, p.state) for p in seen] == [(2, 2, RUNNING), (4, 4, RUNNING), (5, 5, RUNNING),
                                                              (5, 5, DONE)]  # the last finds the queue empty
    job = h.tracker.reschedule_job()
    assert job.cursor == max(o.id for o in h.obligations()) and h.state.reschedule_queue == {}


class CommitFailsOnce:
    """A unit-of-work factory whose N-th commit fails (a crash between two pages)."""

    def __init__(self, store: FakeStore, fail_at: int):
        self.store, self.fail_at, self.count = store, fail_at, 0

    def __call__(self):
        uow = self.store()
        original = uow.commit

        def commit():
            self.count += 1
            if self.count == self.fail_at:
                raise RuntimeError("the worker died here")
            original()

        uow.commit = commit
        return uow


def test_an_interrupted_job_resumes_from_its_cursor_and_moves_nothing_twice():
    old = WeekendCalendar()
    h = harness_with(starts(5), old)
    h.tracker.reschedule_for_calendar(old, old)  # the calendar the obligations agree with
    new = WeekendCalendar(holidays={D(2026, 3, 11)})
    h.tracker.calendar = new
    h.tracker.uow_factory = CommitFailsOnce(h.store, fail_at=3)  # plan, page 1, then page 2 fails
    with pytest.raises(RuntimeError):
        h.tracker.reschedule_for_calendar(old, new, page_size=2)
    job = h.tracker.reschedule_job()
    assert (job.state, job.examined, job.moved) == (RUNNING, 2, 2)
    assert len(rescheduled_events(h)) == 2 and len(history_of(h)) == 2
    h.tracker.uow_factory = h.store  # the restarted worker: compares with the stored calendar, resumes
    result = h.tracker.reschedule_for_calendar(page_size=2)
    assert (result.job_id, result.state, result.examined, result.moved) == (job.id, DONE, 5, 5)
    events = rescheduled_events(h)
    assert len(events) == 5 and len({m.event_id for m in events}) == 5
    assert sorted(entry[0] for entry in history_of(h)) == sorted(o.id for o in h.obligations())
    assert all(o.due_date == D(2026, 3, 11) or o.due_date > D(2026, 3, 23) for o in h.obligations())
    assert h.tracker.reschedule_for_calendar().examined == 0  # done: nothing left


def test_a_worker_started_after_the_notice_changed_finds_the_difference_itself():
    old = WeekendCalendar()
    h = harness_with(starts(3), old)
    first = h.tracker.reschedule_for_calendar()  # nothing stored yet: every open obligation, once
    assert (first.examined, first.moved, first.changed_days) == (3, 0, None)
    assert h.tracker.reschedule_for_calendar().examined == 0  # the same calendar: nothing, no job
    jobs = len(h.state.reschedule_jobs)
    h.tracker.calendar = WeekendCalendar(holidays={D(2026, 3, 4)})  # deployed with a new notice file
    result = h.tracker.reschedule_for_calendar()
    assert (result.examined, result.moved, result.changed_days) == (2, 2, 1)  # started 3-2 and 3-3, not 3-4
    assert len(h.state.reschedule_jobs) == jobs + 1
    assert h.tracker.reschedule_for_calendar().examined == 0


def test_a_newer_change_supersedes_a_running_job_and_covers_both():
    old = WeekendCalendar()
    h = harness_with(starts(5), old)
    h.tracker.reschedule_for_calendar(old, old)
    second = WeekendCalendar(holidays={D(2026, 3, 11)})
    h.tracker.calendar = second
    h.tracker.uow_factory = CommitFailsOnce(h.store, fail_at=3)
    with pytest.raises(RuntimeError):
        h.tracker.reschedule_for_calendar(old, second, page_size=2)
    interrupted = h.tracker.reschedule_job()
    third = WeekendCalendar(holidays={D(2026, 3, 11), D(2026, 3, 20)})
    h.tracker.uow_factory = h.store
    h.tracker.calendar = third
    result = h.tracker.reschedule_for_calendar(second, third, page_size=2)
    assert result.job_id != interrupted.id and result.changed_days == 2 and result.state == DONE
    assert h.state.reschedule_jobs[interrupted.id - 1].state == SUPERSEDED
    for ob in h.obligations():
        assert ob.due_date == third.deadline(ob.start_day, ob.working_days).due_date
    per_obligation = {}
    for entry in history_of(h):
        per_obligation.setdefault(entry[0], []).append(entry[4]["due_date"])
    assert all(len(dues) == len(set(dues)) for dues in per_obligation.values())  # no move repeated
