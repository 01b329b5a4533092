"""The read side on SQLite and PostgreSQL: lists, one obligation with its explanation, summaries, evaluation."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy.orm import Session

from calendars import load_calendar
from config.bootstrap import build_tracker
from config.settings import Settings
from models.clock import ManualClock
from models.evaluation import year_end
from models.sql import queries
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from tests.fakes import (
    accepted_at,
    catalog_updated,
    objection_raised,
    real_registry,
    regulation_changed,
    shanghai,
)

CALENDAR = load_calendar()


@pytest.fixture
def world(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    clock = ManualClock(shanghai(2025, 3, 3, 10))
    tracker = build_tracker(Settings.from_env({}, database_url=database_url), clock, engine, calendar=CALENDAR)
    yield engine, tracker, clock
    engine.dispose()


def feed(tracker, *events):
    return tracker.apply_batch([accepted_at("t", 0, i, e) for i, e in enumerate(events)])


def test_list_filter_and_get_one_obligation_with_explanation(world):
    engine, tracker, clock = world
    feed(tracker, regulation_changed("evt-1", "2025-03-03", ["jyj", "mzj"]),
         regulation_changed("evt-2", "2025-04-01", ["jyj"]))
    with Session(engine) as session:
        listed = queries.list_obligations(session, department="jyj", now=clock.now(), calendar=CALENDAR)
        assert listed["total"] == 2 and [o["trigger_event_id"] for o in listed["obligations"]] == ["evt-1", "evt-2"]
        first = listed["obligations"][0]
        assert first["working_days_left"] == 15 and first["due_end"].tzinfo is not None
        ranged = queries.list_obligations(session, due_from=date(2025, 4, 1), due_to=date(2025, 12, 31))
        assert [o["trigger_event_id"] for o in ranged["obligations"]] == ["evt-2"]
        assert queries.list_obligations(session, status="completed")["total"] == 0
        one = queries.get_obligation(session, first["id"], now=clock.now(), calendar=CALENDAR,
                                     registry=real_registry())
    assert one["department_name"] == "区教育局"
    assert one["explanation"]["due_date"] == one["due_date"].isoformat()
    assert len(one["explanation"]["counted"]) == 15 and "起算日" in one["explanation"]["text_zh"]
    assert [h["event"] for h in one["history"]] == ["opened"] and one["reminders"] == []
    with Session(engine) as session:
        assert queries.get_obligation(session, "ob-missing") is None


def test_summary_counts_and_violation_list(world):
    engine, tracker, clock = world
    feed(tracker, regulation_changed("evt-1", "2025-03-03", ["jyj"]), regulation_changed("evt-2", "2025-03-20",
                                                                                       ["jyj"]))
    tracker.tick(shanghai(2025, 3, 25, 9))  # evt-1 due 2025-03-24: overdue; evt-2 not yet
    feed(tracker, catalog_updated("c-1", "jyj", "2025-03-21T10:00:00+08:00", resolves=["evt-2"]))
    with Session(engine) as session:
        summary = queries.department_summary(session, real_registry(), "jyj", shanghai(2025, 3, 25, 9),
                                             calendar=CALENDAR)
        violations = queries.list_violations(session, department="jyj")
        none = queries.list_violations(session, department="mzj")
    assert (summary["overdue"], summary["completed_on_time"], summary["open"], summary["violations"]) == (1, 1, 0, 1)
    assert summary["name"] == "区教育局" and summary["violations_by_rule"] == {"overdue": 1}
    assert violations["total"] == 1 and violations["violations"][0]["articles"] == ["第二十五条（八）",
                                                                                     "第二十五条（一）"]
    assert none["total"] == 0


def test_unassessed_events_are_listed(world):
    engine, tracker, _ = world
    feed(tracker, regulation_changed("evt-old", "2020-01-06", ["jyj"]))
    with Session(engine) as session:
        listed = queries.list_unassessed(session)
    assert listed["total"] == 1
    record = listed["unassessed"][0]
    assert (record["event_id"], record["start_day"], record["departments"]) == ("evt-old", date(2020, 1, 6), ["jyj"])
    assert "outside every policy" in record["reason"]


def scenario(tracker, clock):
    """A year of events: on time, late, overdue, open, objections, content violations."""
    feed(tracker,
         regulation_changed("r-1", "2025-03-03", ["jyj", "mzj", "czj"]),
         regulation_changed("r-2", "2025-12-22", ["jyj"]),
         objection_raised("o-1", "obj-1", "mzj", "2025-06-02", raised_by="jyj"),
         catalog_updated("c-1", "jyj", "2025-03-10T10:00:00+08:00", resolves=["r-1"]),
         catalog_updated("c-2", "mzj", "2025-04-01T10:00:00+08:00", resolves=["r-1"], resources=[
             {"code": "R-1", "action": "modified", "share_type": "none", "previous_share_type": "unconditional"}]))
    tracker.tick(shanghai(2025, 7, 1, 9))


def test_yearly_evaluation_figures_and_replay_gives_the_same(world, database_url):
    engine, tracker, clock = world
    scenario(tracker, clock)
    as_of = datetime(2025, 12, 31, 16, tzinfo=timezone.utc)
    with Session(engine) as session:
        report = queries.evaluation(session, real_registry(), 2025, now=as_of)
        other_year = queries.evaluation(session, real_registry(), 2024, now=as_of)
    rows = {r["department"]: r for r in report["departments"]}
    assert (rows["jyj"]["obligations"], rows["jyj"]["on_time"], rows["jyj"]["open"]) == (2, 1, 1)
    assert rows["jyj"]["on_time_rate"] == 1.0 and rows["jyj"]["average_working_days_taken"] == 5
    assert (rows["mzj"]["obligations"], rows["mzj"]["late"], rows["mzj"]["overdue"]) == (2, 1, 1)
    assert rows["mzj"]["on_time_rate"] == 0.0
    assert rows["mzj"]["violations_by_rule"] == {"overdue": 2, "share-scope-narrowed": 1}
    assert rows["mzj"]["violations_by_article"] == {"第二十五条（一）": 2, "第二十五条（八）": 2}
    assert (rows["czj"]["overdue"], rows["czj"]["violations"]) == (1, 1)
    assert rows["tmz"]["obligations"] == 0 and rows["tmz"]["on_time_rate"] is None
    assert report["totals"]["obligations"] == 5 and report["totals"]["violations"] == 4
    assert all(r["obligations"] == 0 for r in other_year["departments"])

    replay_engine = create_engine(database_url.replace("tracker.db", "replay.db")) if "sqlite" in database_url \
        else None
    if replay_engine is not None:
        upgrade(replay_engine)
        replay_clock = ManualClock(shanghai(2025, 3, 3, 10))
        replay = build_tracker(Settings.from_env({}, database_url=database_url), replay_clock, replay_engine,
                               calendar=CALENDAR)
        scenario(replay, replay_clock)
        with Session(replay_engine) as session:
            again = queries.evaluation(session, real_registry(), 2025, now=as_of)
        assert again == report
        replay_engine.dispose()


def test_a_past_year_is_judged_as_of_its_end_whenever_asked(world):
    engine, tracker, _ = world
    feed(tracker, regulation_changed("r-dec", "2025-12-22", ["jyj"]))  # due in January 2026
    with Session(engine) as session:
        early = queries.evaluation(session, real_registry(), 2025, now=datetime(2026, 2, 1, tzinfo=timezone.utc))
        late = queries.evaluation(session, real_registry(), 2025, now=datetime(2027, 6, 1, tzinfo=timezone.utc))
    assert early == late and early["as_of"] == year_end(2025)
    assert early["totals"]["open"] == 1 and early["totals"]["overdue"] == 0
