"""The Tracker on SQL (SQLite and PostgreSQL) with the real calendar: state, outbox, leases, concurrency."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from config.bootstrap import build_tracker
from config.settings import Settings
from models import events as ev
from models.clock import ManualClock
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import current_revision, upgrade
from models.sql.outbox import Outbox
from streams import topics
from tests.fakes import accepted_at, catalog_updated, regulation_changed, rejected, shanghai


@pytest.fixture
def setup(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    clock = ManualClock(shanghai(2026, 3, 2, 10))
    settings = Settings.from_env({}, database_url=database_url)
    tracker = build_tracker(settings, clock, engine)
    yield engine, tracker, clock
    engine.dispose()


def rows(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where)).mappings().all()


def feed(tracker, *events, start=0):
    return tracker.apply_batch([accepted_at("catalog.regulation-changes", 0, start + i, e) for i, e in enumerate(events)])


def test_migrations_reach_head_and_are_idempotent(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) is not None
    assert set(t.metadata.tables) <= set(sa.inspect(engine).get_table_names())
    index_names = {ix["name"] for ix in sa.inspect(engine).get_indexes("obligations")}
    assert {"ix_obligations_due_reminder", "ix_obligations_due_end"} <= index_names
    engine.dispose()


def test_migrations_build_every_index_the_tables_declare(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    inspector = sa.inspect(engine)
    for table in t.metadata.sorted_tables:
        found = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            declared = [getattr(e, "name", None) or e.element.name for e in index.expressions]  # (or DESC)
            assert found.get(index.name) == declared, (table.name, index.name)
    engine.dispose()


def test_each_list_filters_first_page_walks_its_index_without_sorting_on_sqlite(sqlite_url):
    from models.sql import queries

    engine = create_engine(sqlite_url)
    upgrade(engine)
    filters = {"ix_obligations_department_status_due": "department = 'jyj' AND status = 'open'",
               "ix_obligations_department_due": "department = 'jyj'",
               "ix_obligations_status_due": "status = 'open'"}
    order = ", ".join(column.name for column, _ in queries.OBLIGATION_ORDER)
    with engine.connect() as conn:
        for index, where in filters.items():
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT * FROM obligations WHERE {where} ORDER BY {order} LIMIT 101"))
            assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url):
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_batch_opens_completes_and_writes_outbox_rows(setup):
    engine, tracker, clock = setup
    result = feed(tracker, regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]),
                  regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]))
    assert (result.accepted, result.duplicates, result.obligations_opened) == (1, 1, 2)
    stored = rows(engine, t.obligations, t.obligations.c.department == "jyj")[0]
    assert stored["due_date"] == date(2026, 3, 23)
    assert stored["due_end"] == datetime(2026, 3, 23, 16, 0, tzinfo=timezone.utc)  # 24:00 Shanghai
    assert stored["opened_at"] == clock.now()
    feed(tracker, catalog_updated("c-1", "jyj", "2026-03-20T16:00:00+08:00", resolves=["evt-1"]), start=2)
    statuses = {r["department"]: (r["status"], r["on_time"]) for r in rows(engine, t.obligations)}
    assert statuses == {"jyj": ("completed", True), "mzj": ("open", None)}
    history = [r["what"] for r in rows(engine, t.obligation_history, t.obligation_history.c.obligation_id
                                       == stored["id"])]
    assert history == ["opened", "completed"]


def test_marking_sent_pages_through_many_rows_and_records_each_ones_partition_and_offset(setup):
    from models.sql.outbox import MARK_SENT_PAGE

    engine, tracker, clock = setup
    departments = ["jyj", "mzj", "czj"]  # one obligation.opened message each per event
    count = MARK_SENT_PAGE * 2 + 7  # two full pages and a short one
    events = [regulation_changed(f"m-{i}", "2026-03-02", departments) for i in range(count // len(departments) + 1)]
    for start in range(0, len(events), 200):
        feed(tracker, *events[start:start + 200], start=start)
    outbox = Outbox(engine)
    pending = outbox.pending(count)
    assert len(pending) == count
    marks = [(message.id, i % 4, 1000 + i) for i, message in enumerate(pending)]
    assert outbox.mark_sent(marks) == count
    stored = {r["id"]: (r["sent"], r["partition"], r["offset"]) for r in rows(engine, t.outbox)}
    assert all(stored[i] == (True, p, o) for i, p, o in marks)
    assert outbox.pending_count() == len(stored) - count


def test_tick_on_sql_sends_reminders_and_one_violation(setup):
    engine, tracker, clock = setup
    feed(tracker, regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    now = shanghai(2026, 3, 2, 10)
    while now <= shanghai(2026, 3, 25):
        tracker.tick(now)
        now += timedelta(hours=6)
    reminders = rows(engine, t.reminders)
    assert sorted(r["stage"] for r in reminders) == [0, 1, 3, 5]
    violation, = rows(engine, t.violations)
    assert violation["articles"] == ["第二十五条（八）", "第二十五条（一）"]
    assert violation["department"] == "jyj" and "区教育局（jyj）" in violation["explanation"]
    assert "星期" in violation["explanation"]  # the real calendar's explanation of counted days
    assert rows(engine, t.obligations)[0]["status"] == "overdue"


def test_outbox_pending_mark_sent_and_recovery(setup):
    engine, tracker, clock = setup
    feed(tracker, regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj", "czj"]))
    tracker.apply_batch([rejected("catalog.duty-changes", 0, 5, None, b"oops", (), "the message is not JSON")])
    outbox = Outbox(engine)
    pending = outbox.pending(10)
    assert [m.id for m in pending] == sorted(m.id for m in pending) and len(pending) == 4
    assert pending[-1].topic == topics.DEAD_LETTERS and pending[0].topic == topics.OBLIGATIONS
    assert ("content-type", b"application/cloudevents+json") in pending[0].headers
    structured = json.loads(pending[0].value)
    assert (structured["id"], structured["type"]) == (pending[0].event_id, ev.OBLIGATION_OPENED)
    outbox.mark_sent([(pending[0].id, 1, 10), (pending[1].id, 1, 11)])
    assert outbox.last_sent_offset(topics.OBLIGATIONS, 1) == 11
    assert outbox.last_sent_offset(topics.OBLIGATIONS, 0) is None
    assert outbox.mark_sent_by_event_ids(topics.OBLIGATIONS, 2, {pending[2].event_id: 3, "unknown": 4}) == 1
    assert [m.id for m in outbox.pending(10)] == [pending[3].id]
    assert outbox.pending_count() == 1


def test_leases_have_one_holder_until_expiry(setup):
    engine, _, _ = setup
    outbox = Outbox(engine)
    now = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)
    assert outbox.try_acquire_lease("relay", "worker-a", 10, now)
    assert not outbox.try_acquire_lease("relay", "worker-b", 10, now + timedelta(seconds=5))
    assert outbox.try_acquire_lease("relay", "worker-a", 10, now + timedelta(seconds=5))  # renewal
    assert outbox.try_acquire_lease("relay", "worker-b", 10, now + timedelta(seconds=16))  # expired
    outbox.release_lease("relay", "worker-a")  # not the holder any more: no effect
    assert not outbox.try_acquire_lease("relay", "worker-a", 10, now + timedelta(seconds=17))
    outbox.release_lease("relay", "worker-b")
    assert outbox.try_acquire_lease("relay", "worker-a", 10, now + timedelta(seconds=18))


def test_concurrent_ticks_never_double_send(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    settings = Settings.from_env({}, database_url=database_url)
    clock = ManualClock(shanghai(2026, 3, 2, 10))
    trackers = [build_tracker(settings, clock, engine) for _ in range(4)]
    trackers[0].apply_batch([accepted_at("catalog.regulation-changes", 0, i,
                                         regulation_changed(f"evt-{i}", "2026-03-02", ["jyj", "mzj", "czj"]))
                             for i in range(20)])
    errors: list[BaseException] = []

    def run(tracker, instants):
        try:
            for instant in instants:
                tracker.tick(instant)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    instants = [shanghai(2026, 3, 16, 9), shanghai(2026, 3, 18, 9), shanghai(2026, 3, 24, 0)]
    threads = [threading.Thread(target=run, args=(tr, instants)) for tr in trackers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with engine.connect() as conn:
        reminder_count = conn.execute(sa.select(sa.func.count()).select_from(t.reminders)).scalar()
        violation_count = conn.execute(sa.select(sa.func.count()).select_from(t.violations)).scalar()
        outbox_types = conn.execute(sa.select(t.outbox.c.value)).scalars().all()
    assert reminder_count == 60 * 2 and violation_count == 60
    assert sum(b"obligation.reminder" in v for v in outbox_types) == 120
    assert sum(b"violation.detected" in v for v in outbox_types) == 60
    engine.dispose()


def test_due_now_queries_use_the_indexes_on_sqlite(sqlite_url):
    engine = create_engine(sqlite_url)
    upgrade(engine)
    with engine.connect() as conn:
        plans = {}
        for column, index in (("due_end", "ix_obligations_due_end"), ("next_reminder_at", "ix_obligations_due_reminder")):
            rows = conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT * FROM obligations WHERE status = 'open' AND {column} <= "
                f"'2026-03-02 00:00:00' ORDER BY {column}, id LIMIT 100").all()
            plans[index] = " ".join(str(row[-1]) for row in rows)
    engine.dispose()
    for index, plan in plans.items():
        assert f"USING INDEX {index}" in plan, plan


def test_an_open_read_on_sqlite_does_not_block_the_writer(sqlite_url):
    import time

    engine = create_engine(sqlite_url)
    upgrade(engine)
    tracker = build_tracker(Settings.from_env({}, database_url=sqlite_url), ManualClock(shanghai(2026, 3, 2, 10)),
                            engine)
    with engine.connect() as reader:  # e.g. the HTTP API in the middle of a query
        reader.execute(sa.select(t.obligations.c.id)).all()
        started = time.monotonic()
        result = feed(tracker, regulation_changed("evt-1", "2026-03-02", ["jyj"]))
        elapsed = time.monotonic() - started
        assert result.obligations_opened == 1 and elapsed < 5  # the busy timeout is 30 s
        assert reader.execute(sa.select(sa.func.count()).select_from(t.obligations)).scalar() == 0  # its snapshot
    engine.dispose()


def test_rejected_events_are_not_recorded_as_processed(setup):
    engine, tracker, _ = setup
    result = feed(tracker, regulation_changed("evt-x", "2026-03-02", ["nope"]),
                  regulation_changed("evt-2020", "2020-03-02", ["jyj"]), regulation_changed("evt-ok", "2026-03-02",
                                                                                           ["jyj"]))
    assert (result.rejected, result.unassessed, result.accepted) == (2, 1, 1)
    assert [r["event_id"] for r in rows(engine, t.processed_events)] == ["evt-ok"]
    assert [r["event_id"] for r in rows(engine, t.unassessed_events)] == ["evt-2020"]


def test_the_same_batch_applied_by_two_workers_at_once_takes_effect_once(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    settings = Settings.from_env({}, database_url=database_url)
    clock = ManualClock(shanghai(2026, 3, 2, 10))
    trackers = [build_tracker(settings, clock, engine) for _ in range(2)]
    batch = [accepted_at("catalog.regulation-changes", 0, i, regulation_changed(f"evt-{i}", "2026-03-02", ["jyj", "mzj"]))
             for i in range(200)]
    results, errors = [], []

    def run(tracker):
        try:
            results.append(tracker.apply_batch(batch))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(tr,)) for tr in trackers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 200), (200, 0)]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.obligations)).scalar() == 400
        assert conn.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar() == 400
    engine.dispose()


def test_workers_starting_together_migrate_once(database_url):
    engines = [create_engine(database_url) for _ in range(3)]
    errors: list[BaseException] = []
    together = threading.Barrier(len(engines))

    def migrate(engine):
        try:
            together.wait(timeout=30)  # open the new database at the same moment
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert {current_revision(engine) for engine in engines} == {current_revision(engines[0])} != {None}
    for engine in engines:
        engine.dispose()
