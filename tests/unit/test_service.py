"""The application service on fakes: batches, duplicates, rejections, completion, ticks."""
from __future__ import annotations

import base64
import json
from datetime import date, timedelta

import pytest

from models import cloudevents as ce
from models import events as ev
from models import validation
from models.obligations import ConcurrentUpdate
from streams import topics
from tests.fakes import (
    Harness,
    accepted_at,
    catalog_updated,
    duty_changed,
    regulation_changed,
    rejected,
    shanghai,
)


@pytest.fixture
def h():
    return Harness(shanghai(2026, 3, 2, 10))


def test_regulation_change_opens_one_obligation_per_affected_department(h):
    result = h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]))
    assert (result.accepted, result.obligations_opened) == (1, 2)
    jyj, = h.obligations(department="jyj")
    assert (jyj.kind, jyj.status, jyj.start_day, jyj.due_date) == ("catalog-update", "open", date(2026, 3, 2),
                                                                  date(2026, 3, 23))
    assert (jyj.policy_id, jyj.working_days, jyj.article) == ("yuhua-2021-measures-continuation", 15, "第十条")
    opened = h.outbox(ev.OBLIGATION_OPENED)
    assert sorted(m.key for m in opened) == [b"jyj", b"mzj"]
    assert all(topics.topic_of_type(m.type) == topics.OBLIGATIONS for m in opened)
    assert {m.cloudevent["data"]["due_date"] for m in opened} == {"2026-03-23"}


def test_duty_change_opens_for_the_department_and_each_counterpart(h):
    h.feed(duty_changed("d-1", "2026-03-02", "jyj", ["mzj", "czj"]))
    assert sorted(o.department for o in h.obligations()) == ["czj", "jyj", "mzj"]


def test_duplicates_are_processed_once_within_and_across_batches(h):
    event = regulation_changed("evt-1", "2026-03-02", ["jyj"])
    first = h.feed(event, event)
    again = h.feed(event)
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (1, 1, 0, 1)
    assert len(h.obligations()) == 1 and len(h.outbox()) == 1


def test_same_id_from_another_source_is_a_different_event(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    other = ev.InboundEvent("evt-1", "/other/system", ev.REGULATION_CHANGED, shanghai(2026, 3, 2),
                            None, regulation_changed("x", "2026-03-02", ["jyj"]).data)
    assert h.feed(other).accepted == 1
    assert len(h.obligations()) == 2


def test_unknown_department_is_dead_lettered_and_nothing_else_is_touched(h):
    event = regulation_changed("evt-1", "2026-03-02", ["jyj", "no-such-dept"])
    raw = ce.encode(validation.to_cloudevent_dict(event))
    result = h.tracker.apply_batch([accepted_at("catalog.regulation-changes", 2, 41, event, key=b"jyj", value=raw)])
    assert (result.accepted, result.rejected, result.obligations_opened) == (0, 1, 0)
    assert h.obligations() == []
    letter, = h.outbox()
    data = letter.cloudevent["data"]
    assert topics.topic_of_type(letter.type) == topics.DEAD_LETTERS and letter.cloudevent["type"] == ev.EVENT_REJECTED
    assert "unknown department 'no-such-dept'" in data["reason"]
    assert (data["topic"], data["partition"], data["offset"]) == ("catalog.regulation-changes", 2, 41)
    assert base64.b64decode(data["value_base64"]) == raw


def test_rejected_input_gives_one_dead_letter_per_topic_partition_offset(h):
    bad = rejected("catalog.duty-changes", 1, 7, b"k", b"\xffnot json", (("x", b"y"),), "the message is not JSON")
    first = h.tracker.apply_batch([bad, bad])
    replay = h.tracker.apply_batch([bad])
    assert (first.rejected, first.outbox_rows, replay.outbox_rows) == (2, 1, 0)
    letter, = h.outbox(ev.EVENT_REJECTED)
    assert base64.b64decode(letter.cloudevent["data"]["value_base64"]) == b"\xffnot json"
    assert letter.cloudevent["data"]["reason"] == "the message is not JSON"
    assert h.state.processed == set()


def test_outbox_values_are_structured_cloudevents_with_content_type(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    message, = h.outbox()
    value, headers = ce.encode_structured(message.cloudevent)
    decoded = json.loads(value)
    assert decoded["source"] == "/yuhua/catalog-tracker" and decoded["specversion"] == "1.0"
    assert ("content-type", b"application/cloudevents+json") in headers
    assert decoded["id"] == message.event_id


def test_update_naming_its_trigger_completes_on_time(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]))
    result = h.feed(catalog_updated("c-1", "jyj", "2026-03-23T23:59:00+08:00", resolves=["evt-1"]))
    assert result.obligations_completed == 1
    jyj, = h.obligations(department="jyj")
    assert (jyj.status, jyj.on_time, jyj.working_days_taken) == ("completed", True, 15)
    assert h.obligations(department="mzj")[0].status == "open"
    completed, = h.outbox(ev.OBLIGATION_COMPLETED)
    assert completed.cloudevent["data"]["on_time"] is True


def test_update_after_the_deadline_end_completes_late(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.feed(catalog_updated("c-1", "jyj", "2026-03-24T00:00:00+08:00", resolves=["evt-1"]))
    jyj, = h.obligations()
    assert (jyj.status, jyj.on_time) == ("completed", False)


def test_update_without_resolves_answers_obligations_started_by_its_submission(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]), regulation_changed("evt-2", "2026-03-09", ["jyj"]))
    h.feed(catalog_updated("c-1", "jyj", "2026-03-05T10:00:00+08:00"))
    by_trigger = {o.trigger_event_id: o.status for o in h.obligations()}
    assert by_trigger == {"evt-1": "completed", "evt-2": "open"}


def test_update_arriving_before_its_trigger_completes_it_when_the_trigger_comes(h):
    h.feed(catalog_updated("c-1", "jyj", "2026-03-10T10:00:00+08:00", resolves=["evt-late"]))
    assert h.obligations() == []
    result = h.feed(regulation_changed("evt-late", "2026-03-02", ["jyj", "mzj"]))
    assert result.obligations_completed == 1
    assert {o.department: (o.status, o.on_time) for o in h.obligations()} == {
        "jyj": ("completed", True), "mzj": ("open", None)}
    assert h.state.pending == {}


def test_tick_marks_overdue_once_with_one_violation(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    before = h.tracker.tick(shanghai(2026, 3, 23, 23, 59))
    assert before.violations == 0
    result = h.tracker.tick(shanghai(2026, 3, 24, 0, 0))
    again = h.tracker.tick(shanghai(2026, 3, 25, 9, 0))
    assert (result.overdue, result.violations, again.overdue, again.violations) == (1, 1, 0, 0)
    ob, = h.obligations()
    assert ob.status == "overdue"
    violation, = h.state.violations.values()
    assert violation.articles == ("第二十五条（八）", "第二十五条（一）")
    message, = h.outbox(ev.VIOLATION_DETECTED)
    data = message.cloudevent["data"]
    assert (data["rule"], data["article"], data["obligation_id"], data["trigger_event_id"], data["due_date"]) == (
        "overdue", "第二十五条（八）", ob.id, "evt-1", "2026-03-23")
    text = data["explanation"]
    for part in ("区教育局（jyj）", "2026-03-02", "2026-03-23", "15 个工作日", "第十条", "evt-1",
                 "超过规定时间申请更新政务数据资源目录", "《长沙市雨花区政务数据资源管理暂行办法》（雨政办发〔2021〕9号）"):
        assert part in text


def test_completing_an_overdue_obligation_makes_it_completed_late(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.tracker.tick(shanghai(2026, 3, 24, 9))
    h.feed(catalog_updated("c-1", "jyj", "2026-03-25T10:00:00+08:00"))
    ob, = h.obligations()
    assert (ob.status, ob.on_time) == ("completed", False)


def test_obligation_already_overdue_on_arrival_is_a_violation_at_once(h):
    h.clock.set(shanghai(2026, 4, 1, 10))
    result = h.feed(regulation_changed("evt-old", "2026-03-02", ["jyj"]))
    assert (result.obligations_opened, result.violations) == (1, 1)
    ob, = h.obligations()
    assert ob.status == "overdue"
    assert h.tracker.tick(shanghai(2026, 4, 1, 11)).violations == 0
    assert h.tracker.tick(shanghai(2026, 4, 1, 11)).reminders == 0


def test_tick_sends_each_reminder_stage_once_with_deterministic_ids(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    now, stages = shanghai(2026, 3, 2, 10), []
    while now < shanghai(2026, 3, 24):
        result = h.tracker.tick(now)
        stages += [m.cloudevent["data"]["stage"] for m in h.outbox(ev.REMINDER)[len(stages):]]
        now += timedelta(hours=4)
    assert stages == [5, 3, 1, 0]
    ids = [m.event_id for m in h.outbox(ev.REMINDER)]
    assert len(set(ids)) == 4
    replay = Harness(shanghai(2026, 3, 2, 10))
    replay.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    replay.tracker.tick(shanghai(2026, 3, 16, 9))
    assert replay.outbox(ev.REMINDER)[0].event_id == ids[0]
    first = h.outbox(ev.REMINDER)[0].cloudevent["data"]
    assert (first["working_days_left"], first["due_date"], first["obligation"], first["provisional"]) == (
        5, "2026-03-23", "catalog-update", False)
    assert "区教育局" in first["text"]


def test_event_before_the_first_policy_is_unassessed_and_dead_lettered(h):
    result = h.feed(regulation_changed("evt-2020", "2021-05-13", ["jyj"]),
                    regulation_changed("evt-first-day", "2021-05-14", ["jyj"]))
    assert (result.unassessed, result.accepted, result.obligations_opened) == (1, 1, 1)
    record, = h.state.unassessed.values()
    assert record.event_id == "evt-2020" and record.start_day == date(2021, 5, 13)
    letter, = h.outbox(ev.EVENT_REJECTED)
    assert "outside every policy" in letter.cloudevent["data"]["reason"]
    assert h.obligations()[0].policy_id == "yuhua-2021-measures"


def test_last_day_of_the_2021_policy_and_first_day_of_the_continuation(h):
    h.feed(regulation_changed("a", "2023-05-13", ["jyj"]), regulation_changed("b", "2023-05-14", ["jyj"]))
    assert {o.trigger_event_id: o.policy_id for o in h.obligations()} == {
        "a": "yuhua-2021-measures", "b": "yuhua-2021-measures-continuation"}


def test_a_batch_is_all_or_nothing(h):
    class Boom(Exception):
        pass

    calls = {"n": 0}
    real_store = h.store

    def failing_factory():
        uow = real_store()
        original = uow.commit

        def commit():
            calls["n"] += 1
            raise Boom()

        uow.commit = commit
        del original
        return uow

    h.tracker.uow_factory = failing_factory
    with pytest.raises(Boom):
        h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    assert calls["n"] == 1 and h.obligations() == [] and h.outbox() == [] and h.state.processed == set()


def test_concurrent_update_retries_the_whole_batch(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.store.conflicts_to_inject = 1
    result = h.feed(catalog_updated("c-1", "jyj", "2026-03-03T10:00:00+08:00"))
    assert result.attempts == 2 and result.obligations_completed == 1
    assert len(h.outbox(ev.OBLIGATION_COMPLETED)) == 1
    assert h.obligations()[0].status == "completed"


def test_repeated_conflicts_surface_as_concurrent_update(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.store.conflicts_to_inject = 99
    with pytest.raises(ConcurrentUpdate):
        h.feed(catalog_updated("c-1", "jyj", "2026-03-03T10:00:00+08:00"))
    assert h.obligations()[0].status == "open" and h.outbox(ev.OBLIGATION_COMPLETED) == []


def test_late_completion_without_a_tick_is_the_same_single_violation(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.feed(catalog_updated("c-1", "jyj", "2026-03-25T10:00:00+08:00"))
    violation, = h.state.violations.values()
    assert "实际于 2026-03-25 10:00 才完成" in violation.explanation

    ticked = Harness(shanghai(2026, 3, 2, 10))
    ticked.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    ticked.tracker.tick(shanghai(2026, 3, 24, 9))
    ticked.feed(catalog_updated("c-1", "jyj", "2026-03-25T10:00:00+08:00"))
    assert list(ticked.state.violations) == list(h.state.violations)
    assert len(ticked.outbox(ev.VIOLATION_DETECTED)) == 1


def test_on_time_completion_is_no_violation(h):
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.feed(catalog_updated("c-1", "jyj", "2026-03-23T10:00:00+08:00"))
    h.tracker.tick(shanghai(2026, 3, 30, 9))
    assert h.state.violations == {} and h.outbox(ev.VIOLATION_DETECTED) == []


def test_reschedule_moves_open_obligations_once_and_keeps_sent_stages():
    from tests.fakes import WeekendCalendar

    provisional = WeekendCalendar(provisional_from_year=2026)
    h = Harness(shanghai(2026, 3, 2, 10), calendar=provisional)
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]))
    h.tracker.tick(shanghai(2026, 3, 16, 9))  # stage 5 for both
    h.feed(catalog_updated("c-1", "mzj", "2026-03-16T10:00:00+08:00"))
    official = WeekendCalendar(holidays={date(2026, 3, 19)})
    h.tracker.calendar = official
    assert h.tracker.reschedule_for_calendar(provisional, official).moved == 1
    assert h.tracker.reschedule_for_calendar(provisional, official).moved == 0
    jyj, = h.obligations(department="jyj")
    assert (jyj.due_date, jyj.provisional, jyj.stages_sent) == (date(2026, 3, 24), False, (5,))
    moved, = h.outbox(ev.OBLIGATION_RESCHEDULED)
    assert (moved.cloudevent["data"]["previous_due_date"], moved.cloudevent["data"]["due_date"]) == (
        "2026-03-23", "2026-03-24")
    h.tracker.tick(shanghai(2026, 3, 18, 9))
    assert h.outbox(ev.REMINDER)[-1].cloudevent["data"]["stage"] == 3  # 3 working days left to the 24th
    assert h.outbox(ev.REMINDER)[-1].cloudevent["data"]["due_date"] == "2026-03-24"


def test_a_rejected_event_can_be_published_again_once_the_registry_knows_the_department(h):
    from models.departments import Department, DepartmentRegistry

    event = regulation_changed("evt-new-dept", "2026-03-02", ["xinbumen"])
    assert h.feed(event).rejected == 1
    h.tracker.registry = DepartmentRegistry([*h.tracker.registry, Department("xinbumen", "区新部门")])
    result = h.feed(event)
    assert (result.accepted, result.duplicates, result.obligations_opened) == (1, 0, 1)


def test_a_backlog_of_overdue_obligations_does_not_starve_reminders(h):
    h.clock.set(shanghai(2026, 2, 2, 10))
    h.feed(regulation_changed("old-1", "2026-02-02", ["jyj"]), regulation_changed("old-2", "2026-02-02", ["mzj"]))
    h.clock.set(shanghai(2026, 3, 2, 10))  # the scheduler was down for weeks
    h.feed(regulation_changed("new", "2026-03-02", ["czj"]))
    h.tracker.tick_limit = 1
    result = h.tracker.tick(shanghai(2026, 3, 16, 9))  # old-1, old-2 overdue; "new" has its 5-days-left stage
    assert (result.overdue, result.reminders, result.more_due) == (1, 1, True)
    assert h.outbox(ev.REMINDER)[0].cloudevent["data"]["trigger_event_id"] == "new"
    assert h.tracker.tick(shanghai(2026, 3, 16, 9)).overdue == 1
