"""Rescheduling in proportion to the change (issue 13), on SQLite and PostgreSQL with the real calendar and Tracker.

A local rest day reaches only the counting intervals (start_day, due_date] that contain it: not an
obligation starting that day, nor one due the day before; the year-end window clearing when the next
notice is loaded reaches only the deadlines across it. A reschedule interrupted between two pages
resumes after a restart from its cursor, and each obligation gets one ``rescheduled`` history entry and
one outbox row. A worker started after a notice file changed finds the difference from the calendar the
obligations were scheduled against (stored) by itself. Migration 0004 creates the index tables.py declares.
"""
from __future__ import annotations

import json
import re
import shutil
from datetime import date

import pytest
import sqlalchemy as sa

from calendars import LiveCalendar
from config.bootstrap import build_tracker
from config.settings import Settings
from models.clock import ManualClock
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from tests.fakes import CONFIG_DIR, accepted_at, regulation_changed, shanghai

LOCAL_REST_DAY = """jurisdiction: yuhua
name_zh: 长沙市雨花区
name_en: Yuhua District, Changsha
adjustments:
  - date: {day}
    status: rest
    reason_zh: 区政府统一安排休息（测试用）
    reason_en: district-wide rest day (test)
    document_number: 雨政办发〔2026〕X号
"""


@pytest.fixture
def world(database_url, tmp_path):
    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    engine = create_engine(database_url)
    upgrade(engine)
    settings = Settings.from_env({}, database_url=database_url)
    clock = ManualClock(shanghai(2026, 3, 2, 10))

    def tracker(calendar=None):  # a worker (re)started on the calendar files as they are now
        return build_tracker(settings, clock, engine, calendar=calendar or LiveCalendar(calendar_dir, "yuhua"))

    yield engine, tracker, calendar_dir
    engine.dispose()


def feed(tracker, *events) -> None:
    tracker.apply_batch([accepted_at("catalog.regulation-changes", 0, i, e) for i, e in enumerate(events)])


def deadlines(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.obligations.c.trigger_event_id, t.obligations.c.department,
                                      t.obligations.c.due_date, t.obligations.c.provisional))
        return {f"{event}/{dept}": (due, provisional) for event, dept, due, provisional in rows}


def rescheduled(engine) -> tuple[list[str], list[str]]:
    """(obligation ids with a ``rescheduled`` history entry, outbox event ids of rescheduled messages), each row."""
    with engine.connect() as conn:
        history = conn.execute(sa.select(t.obligation_history.c.obligation_id)
                               .where(t.obligation_history.c.what == "rescheduled")).scalars().all()
        values = conn.execute(sa.select(t.outbox.c.value)).scalars().all()
    outbox = [json.loads(v)["id"] for v in values if b"obligation.rescheduled" in v]
    return sorted(history), sorted(outbox)


def add_local_rest_day(calendar_dir, day: str) -> None:
    (calendar_dir / "local" / "yuhua.yaml").write_text(LOCAL_REST_DAY.format(day=day), encoding="utf-8")


def test_a_local_rest_day_reaches_only_the_intervals_containing_it(world):
    engine, make_tracker, calendar_dir = world
    calendar = LiveCalendar(calendar_dir, "yuhua")
    tracker = make_tracker(calendar)
    feed(tracker, regulation_changed("due-on-it", "2026-03-02", ["jyj"]),  # (3-02, 3-23]: due on the day
         regulation_changed("starts-on-it", "2026-03-23", ["jyj"]),  # the start day is never counted
         regulation_changed("due-before-it", "2026-03-01", ["jyj"]),  # (3-01, 3-20]: the day is just after
         regulation_changed("across-it", "2026-03-10", ["mzj"]))  # (3-10, 3-31]
    before = deadlines(engine)
    assert before["due-on-it/jyj"][0] == date(2026, 3, 23) and before["due-before-it/jyj"][0] == date(2026, 3, 20)
    assert tracker.reschedule_for_calendar().examined == 4  # nothing stored yet: every open one, once, none moves
    add_local_rest_day(calendar_dir, "2026-03-23")
    old, new = calendar.reload()
    result = tracker.reschedule_for_calendar(old, new)
    assert (result.examined, result.moved, result.changed_days, result.state) == (2, 2, 1, "done")
    after = deadlines(engine)
    assert after["due-on-it/jyj"][0] == date(2026, 3, 24) and after["across-it/mzj"][0] == date(2026, 4, 1)
    for untouched in ("starts-on-it/jyj", "due-before-it/jyj"):
        assert after[untouched] == before[untouched]
    history, outbox = rescheduled(engine)
    assert len(history) == 2 and len(outbox) == 2 and len(set(outbox)) == 2
    assert tracker.reschedule_for_calendar(old, new).examined == 0  # on that calendar already: no work


def test_the_next_notice_clears_the_year_end_window_only_where_the_interval_touches_it(world):
    engine, make_tracker, calendar_dir = world
    calendar = LiveCalendar(calendar_dir, "yuhua")
    tracker = make_tracker(calendar)
    feed(tracker, regulation_changed("across-window", "2026-12-10", ["jyj"]),  # due 12-31: across 12-26..31
         regulation_changed("before-window", "2026-11-02", ["jyj"]))  # due in November
    tracker.reschedule_for_calendar(calendar, calendar)  # the calendar they were scheduled against
    assert deadlines(engine)["across-window/jyj"][1] is True
    (calendar_dir / "2027.yaml").write_text(
        "year: 2027\nnotice:\n  document_number: 国办发明电〔2026〕99号（测试用，虚构）\n", encoding="utf-8")
    old, new = calendar.reload()
    result = tracker.reschedule_for_calendar(old, new)
    assert (result.examined, result.moved) == (1, 1)
    after = deadlines(engine)
    assert after["across-window/jyj"][1] is False and after["before-window/jyj"][1] is False


class CommitFails:
    """Units of work whose ``fail_at``-th commit raises: the worker died between two pages."""

    def __init__(self, factory, fail_at: int):
        self.factory, self.fail_at, self.count = factory, fail_at, 0

    def __call__(self):
        uow = self.factory()
        commit = uow.commit

        def failing_commit():
            self.count += 1
            if self.count == self.fail_at:
                raise RuntimeError("killed between two pages")
            commit()

        uow.commit = failing_commit
        return uow


def test_an_interrupted_reschedule_resumes_after_a_restart_and_each_move_is_recorded_once(world):
    engine, make_tracker, calendar_dir = world
    calendar = LiveCalendar(calendar_dir, "yuhua")
    tracker = make_tracker(calendar)
    feed(tracker, regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj", "czj", "zfb", "fgj"]))
    tracker.reschedule_for_calendar(calendar, calendar)
    add_local_rest_day(calendar_dir, "2026-03-10")
    old, new = calendar.reload()
    tracker.uow_factory = CommitFails(tracker.uow_factory, fail_at=3)  # the plan, page 1, then page 2 dies
    with pytest.raises(RuntimeError, match="killed"):
        tracker.reschedule_for_calendar(old, new, page_size=2)
    history, outbox = rescheduled(engine)
    assert len(history) == 2 and len(outbox) == 2  # page 1 committed with its cursor, page 2 rolled back
    job = tracker.reschedule_job()
    assert (job.state, job.examined, job.moved, job.pages) == ("running", 2, 2, 1)

    restarted = make_tracker()  # a new worker on the new files: it finds the job and resumes it
    result = restarted.reschedule_for_calendar(page_size=2)
    assert (result.job_id, result.state, result.examined, result.moved, result.pages) == (job.id, "done", 5, 5, 3)
    history, outbox = rescheduled(engine)
    assert len(history) == 5 and len(set(history)) == 5  # each obligation once
    assert len(outbox) == 5 and len(set(outbox)) == 5
    assert all(due == date(2026, 3, 24) for due, _ in deadlines(engine).values())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.reschedule_candidates)).scalar() == 0
    assert restarted.reschedule_for_calendar().examined == 0


def test_a_worker_started_after_a_notice_file_changed_reschedules_once(world):
    engine, make_tracker, calendar_dir = world
    first = make_tracker()
    feed(first, regulation_changed("evt-1", "2026-03-02", ["jyj"]), regulation_changed("evt-2", "2026-03-16", ["jyj"]))
    assert first.reschedule_for_calendar().moved == 0  # the first start records the calendar
    add_local_rest_day(calendar_dir, "2026-03-13")  # deployed while no worker ran
    second = make_tracker()
    result = second.reschedule_for_calendar()
    assert (result.examined, result.moved) == (1, 1)  # (3-02, 3-23] holds it, (3-16, ...] does not
    assert second.reschedule_for_calendar().examined == 0 and make_tracker().reschedule_for_calendar().moved == 0
    assert len(rescheduled(engine)[1]) == 1


def test_migration_0004_creates_the_index_tables_declares(world):
    engine = world[0]
    inspector = sa.inspect(engine)
    found = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("obligations")}
    declared = next(ix for ix in t.obligations.indexes if ix.name == "ix_obligations_reschedule")
    assert found["ix_obligations_reschedule"] == [c.name for c in declared.columns] == ["status", "due_date",
                                                                                         "start_day"]
    for table in (t.reschedule_jobs, t.reschedule_candidates):
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}
    if engine.dialect.name == "sqlite":  # the candidates' query is an index range
        from models.sql.reschedule import candidate_selects

        select = candidate_selects(1, ((date(2026, 3, 10), date(2026, 3, 12)),))[0]
        compiled = select.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        # an index range on (status, due_date): ix_obligations_reschedule, or the list's ix_obligations_status_due,
        # whichever the planner prefers; never a scan of the table
        assert re.search(r"USING (COVERING )?INDEX ix_obligations_\w+ \(status=\? AND due_date>\?\)", plan), plan
