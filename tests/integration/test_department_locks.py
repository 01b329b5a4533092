"""Two workers never judge one department at once (issue 9), on PostgreSQL.

The run that found it: three workers, random kills, one obligation of 3,616
ended ``overdue`` although its catalog update had arrived on time. Its trigger
(a regulation change) and its update were applied by two workers in
overlapping transactions, and neither saw the other's row: the update found no
obligation and kept a pending resolution, the trigger found no pending
resolution and opened the obligation. Here two trackers on two engines (two
workers) apply a trigger and its update at the same moment, many times; the
update must complete the obligation every time.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from config.bootstrap import build_tracker
from config.settings import Settings
from models.clock import ManualClock
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from tests.fakes import accepted_at, catalog_updated, regulation_changed, shanghai

pytestmark = pytest.mark.postgres

ROUNDS = 200


def test_a_trigger_and_its_update_applied_at_once_by_two_workers_always_complete(postgres_url):
    engines = [create_engine(postgres_url) for _ in range(2)]
    upgrade(engines[0])
    clock = ManualClock(shanghai(2026, 3, 2, 10))
    settings = Settings.from_env({}, database_url=postgres_url)
    trackers = [build_tracker(settings, clock, engine) for engine in engines]
    failures: list[BaseException] = []

    def apply(tracker, item, barrier):
        try:
            barrier.wait(timeout=30)
            tracker.apply_batch([item])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    try:
        for n in range(ROUNDS):
            department = ("jyj", "mzj", "sfj")[n % 3]
            trigger = accepted_at("catalog.regulation-changes", 0, n,
                                  regulation_changed(f"R{n}", "2026-03-02", [department]))
            update = accepted_at("catalog.catalog-updates", 0, n,
                                 catalog_updated(f"U{n}", department, "2026-03-05T10:00:00+08:00",
                                                 resolves=[f"R{n}"]))
            barrier = threading.Barrier(2)
            # Alternate which worker gets which event, so neither is always first to its lock.
            pairs = [(trackers[n % 2], trigger), (trackers[(n + 1) % 2], update)]
            threads = [threading.Thread(target=apply, args=(tracker, item, barrier)) for tracker, item in pairs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not failures, failures

        with engines[0].connect() as conn:
            statuses = conn.execute(sa.select(t.obligations.c.trigger_event_id, t.obligations.c.status,
                                              t.obligations.c.on_time)).all()
            waiting = conn.execute(sa.select(sa.func.count()).select_from(t.pending_resolutions)).scalar_one()
        assert len(statuses) == ROUNDS
        not_completed = [row for row in statuses if (row.status, row.on_time) != ("completed", True)]
        assert not_completed == [] and waiting == 0, f"{len(not_completed)} of {ROUNDS}: {not_completed[:5]}"

        # No false overdue later either: a tick far past every deadline finds nothing to judge.
        clock.set(shanghai(2026, 4, 30, 10))
        result = trackers[0].tick()
        assert (result.overdue, result.violations) == (0, 0)
    finally:
        for engine in engines:
            engine.dispose()
