"""The maintained counts (``models.sql.counts``) on SQLite and PostgreSQL, and the pages that use them.

A realistic scenario (regulation changes over several departments, completions on time and late, ticks that
mark obligations overdue with their violations, a content-rule violation, a catalog whose monthly periods open,
one aggregated and one missed, a cycle change that cancels, a replayed batch, a batch that crashes before its
commit and is applied again, a batch retried after a concurrent update) ends with counts equal to those rebuilt
from the stored rows; the summary and the evaluation equal those counted row by row (the arithmetic the read
side used before the counts). Then keyset and offset pages walk the same list.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from calendars import load_calendar
from config.bootstrap import build_tracker
from config.settings import Settings
from models.clock import ManualClock
from models.evaluation import Tally
from models.evaluation import as_of as evaluation_as_of
from models.obligations import COMPLETED, OPEN, counts_as_overdue, past_deadline
from models.sql import queries
from models.sql import tables as t
from models.sql.counts import computed_counts, rebuild_counts, stored_counts
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from models.sql.paging import BadCursor
from tests.fakes import (
    accepted_at,
    catalog_updated,
    data_aggregated,
    objection_raised,
    real_registry,
    regulation_changed,
    shanghai,
)

CALENDAR = load_calendar()
DEPARTMENTS = ["jyj", "mzj", "tjj", "wjj"]


class CrashingOnce:
    """A unit-of-work factory whose first unit fails at its commit, as a worker killed mid-batch."""

    def __init__(self, factory):
        self.factory, self.crashed = factory, False

    def __call__(self):
        uow = self.factory()
        if not self.crashed:
            self.crashed = True

            def crash():
                uow.repo.flush()  # everything written, counts included, then the process dies
                raise RuntimeError("killed before the commit")

            uow.commit = crash
        return uow


@pytest.fixture
def world(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    clock = ManualClock(shanghai(2025, 3, 3, 10))
    tracker = build_tracker(Settings.from_env({}, database_url=database_url), clock, engine, calendar=CALENDAR)
    offsets = iter(range(100_000))

    def feed(*events):
        return tracker.apply_batch([accepted_at("t", 0, next(offsets), e) for e in events])

    yield engine, tracker, clock, feed
    engine.dispose()


def resource(code: str, **attributes) -> dict:
    return {"code": code, "name": f"资源{code}", "action": "added", "share_type": "conditional",
            "share_channel": "municipal-platform", "open_type": "none", "update_cycle": "irregular", **attributes}


def scenario(engine, tracker, clock, feed) -> None:
    changes = [regulation_changed(f"evt-{i}", f"2025-{1 + i % 11:02d}-{1 + i % 27:02d}",
                                  DEPARTMENTS[: 1 + i % len(DEPARTMENTS)]) for i in range(30)]
    feed(*changes[:20])
    feed(*changes[:5])  # a replayed batch: duplicates, nothing counted twice
    feed(catalog_updated("c-on-time", "jyj", "2025-03-05T10:00:00+08:00", resolves=["evt-0", "evt-4"]),
         catalog_updated("c-late", "mzj", "2025-12-20T10:00:00+08:00", resolves=["evt-1", "evt-5"]),
         objection_raised("obj-1", "o-1", "tjj", "2025-04-01"))
    feed(catalog_updated("c-0", "tjj", "2025-03-02T09:00:00+08:00", complete=True, resources=[
        resource("R-m", update_cycle="monthly"), resource("R-x", share_channel="区自建交换平台")]))
    tracker.tick(shanghai(2025, 4, 1))  # April's period opens
    feed(data_aggregated("a-apr", "tjj", "R-m", "2025-04", "2025-05-02T10:00:00+08:00"))
    tracker.tick(shanghai(2025, 5, 1))
    tracker.tick(shanghai(2025, 6, 20, 9))  # overdue ones and May's missed period; June's opened
    feed(catalog_updated("c-cycle", "tjj", "2025-06-21T10:00:00+08:00", resources=[
        {"code": "R-m", "action": "modified", "update_cycle": "yearly"}]))  # cancels the unfinished period
    # A worker dies with a batch written but not committed; the batch comes again and is applied once.
    tracker.uow_factory = CrashingOnce(tracker.uow_factory)
    with pytest.raises(RuntimeError):
        feed(*changes[20:])
    tracker.uow_factory = tracker.uow_factory.factory
    offsets_again = iter(range(50_000, 60_000))
    tracker.apply_batch([accepted_at("t", 1, next(offsets_again), e) for e in changes[20:]])
    tracker.tick(shanghai(2025, 12, 31, 9))
    feed(catalog_updated("c-2026", "wjj", "2026-01-05T10:00:00+08:00", resolves=["evt-3", "evt-7"]),
         regulation_changed("evt-late-1", "2025-12-29", ["jyj", "tjj"]),
         regulation_changed("evt-late-2", "2026-01-05", ["mzj"]))  # open, past their deadline by February


def evaluation_row_by_row(session, registry, year, now):
    """The evaluation as the read side computed it before the counts: every obligation and violation read."""
    at = evaluation_as_of(year, now)
    c = t.obligations.c
    tally = Tally()
    for row in session.execute(sa.select(c.department, c.kind, c.status, c.on_time, c.due_end,
                                         c.working_days_taken).where(c.start_day >= date(year, 1, 1),
                                                                     c.start_day <= date(year, 12, 31))):
        tally.add_obligations(row.department, status=row.status, on_time=row.on_time,
                              past_deadline=past_deadline(row.due_end, at), count=1,
                              taken_sum=row.working_days_taken or 0,
                              taken_count=int(row.working_days_taken is not None), kind=row.kind)
    for department, resources in queries.catalog_sizes(session, at):
        tally.add_catalog_size(department, resources)
    v = t.violations.c
    for row in session.execute(sa.select(v.department, v.rule, v.articles).where(
            v.event_day >= date(year, 1, 1), v.event_day <= date(year, 12, 31))):
        tally.add_violation(row.department, row.rule, row.articles)
    return tally.report(year, at, [(d.code, d.name) for d in registry])


def summary_row_by_row(session, code, now):
    c = t.obligations.c
    counts = Counter()
    for row in session.execute(sa.select(c.status, c.on_time, c.due_date, c.due_end).where(c.department == code)):
        if row.status == COMPLETED:
            counts["completed_on_time" if row.on_time else "completed_late"] += 1
        elif counts_as_overdue(row.status, past_deadline(row.due_end, now)):
            counts["overdue"] += 1
        elif row.status == OPEN:
            counts["open"] += 1
            left = CALENDAR.working_days_left(now, row.due_date)
            if left <= queries.DUE_SOON_WORKING_DAYS:
                counts["due_soon"] += 1
    by_rule = Counter(rule for (rule,) in session.execute(sa.select(t.violations.c.rule)
                                                          .where(t.violations.c.department == code)))
    return ({key: counts.get(key, 0) for key in ("open", "due_soon", "overdue", "completed_on_time",
                                                 "completed_late")}, dict(by_rule))


def test_the_counts_equal_those_rebuilt_from_the_stored_rows(world):
    engine, tracker, clock, feed = world
    scenario(engine, tracker, clock, feed)
    with engine.connect() as conn:
        stored, computed = stored_counts(conn), computed_counts(conn)
        statuses = {key[3] for key in computed["obligation_counts"]}
        assert {"open", "overdue", "completed", "cancelled"} <= statuses  # the scenario moved every way
        assert computed["violation_counts"] and computed["violation_article_counts"]
    assert stored == computed
    with engine.begin() as conn:  # a rebuild (the migration's) gives the same rows
        rebuild_counts(conn)
        assert stored_counts(conn) == computed


DUE_SOON_OF_LATE_ONES = shanghai(2026, 1, 16, 9)  # evt-late-1 (2025-12-29) is due 2026-01-20: two working days


@pytest.mark.parametrize("now", [shanghai(2025, 6, 20, 8), shanghai(2025, 12, 31, 10), DUE_SOON_OF_LATE_ONES,
                                 shanghai(2026, 2, 1)])
def test_summary_and_evaluation_equal_those_counted_row_by_row(world, now):
    engine, tracker, clock, feed = world
    scenario(engine, tracker, clock, feed)
    registry = real_registry()
    with Session(engine) as session:
        for year in (2025, 2026):
            assert queries.evaluation(session, registry, year, now) == evaluation_row_by_row(session, registry,
                                                                                             year, now)
        due_soon = 0
        for code in DEPARTMENTS:
            summary = queries.department_summary(session, registry, code, now, calendar=CALENDAR)
            figures, by_rule = summary_row_by_row(session, code, now)
            assert (summary["counts"], summary["violations_by_rule"]) == (figures, by_rule)
            due_soon += figures["due_soon"]
    assert (due_soon > 0) == (now == DUE_SOON_OF_LATE_ONES)


def test_keyset_and_offset_pages_walk_the_same_list_with_exact_totals(world):
    engine, tracker, clock, feed = world
    scenario(engine, tracker, clock, feed)
    with Session(engine) as session:
        for filters in ({}, {"department": "jyj"}, {"status": "open"}, {"department": "mzj", "status": "overdue"},
                        {"due_from": date(2025, 3, 1), "due_to": date(2025, 9, 30)}):
            whole = queries.list_obligations(session, limit=1000, **filters)
            assert whole["next"] is None and whole["total"] == len(whole["obligations"]) > 0
            ids = [o["id"] for o in whole["obligations"]]
            keys = [(o["due_date"], o["opened_at"], o["id"]) for o in whole["obligations"]]
            assert keys == sorted(keys)  # by due day, then as opened (new rows at the end of their day's range)
            walked, after = [], None
            while True:
                page = queries.list_obligations(session, limit=7, after=after, **filters)
                assert page["total"] == len(ids)
                walked += [o["id"] for o in page["obligations"]]
                after = page["next"]
                if after is None:
                    break
            assert walked == ids
            assert [o["id"] for o in queries.list_obligations(session, limit=5, offset=3, **filters)
                    ["obligations"]] == ids[3:8]
        violations = queries.list_violations(session, limit=1000)
        assert violations["total"] == len(violations["violations"]) >= 3
        first = queries.list_violations(session, limit=2)
        rest = queries.list_violations(session, limit=1000, after=first["next"])
        assert [v["id"] for v in first["violations"] + rest["violations"]] == [
            v["id"] for v in violations["violations"]]
        assert queries.list_violations(session, rule="overdue")["total"] == sum(
            1 for v in violations["violations"] if v["rule"] == "overdue")
        for bad in ("nope", first["next"] + "x", queries.list_obligations(session, limit=1)["next"][:-2]):
            with pytest.raises(BadCursor):
                queries.list_violations(session, after=bad)
