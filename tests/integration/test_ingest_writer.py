"""The ingest writer process (streams.writer): batches applied on a core of their own, as the worker would.

Each test starts a real writer (spawned, its own engine and Tracker) on a real database file or PostgreSQL
database, and checks what it stored with the test's own engine.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from calendars import LiveCalendar
from calendars.sources import DEFAULT_CALENDAR_DIR
from config.bootstrap import build_writer
from config.settings import Settings, SettingsError
from models.clock import ManualClock
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from streams import writer as writers
from streams.broker import wait_until
from streams.ingest import BatchApplier
from streams.writer import WriterFailure, WriterProcess
from tests.e2e.harness import process_state
from tests.e2e.test_poison import refuse_poison
from tests.fakes import accepted_at, regulation_changed, shanghai
from tests.integration.test_calendar_reload import NOTICE_2027  # made up: 2027's Spring Festival week

REPO = Path(__file__).resolve().parents[2]

@pytest.fixture
def database(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    yield database_url, engine
    engine.dispose()


def batch(*events, start: int = 0):
    return [accepted_at("catalog.regulation-changes", 0, start + i, e) for i, e in enumerate(events)]


def stored(engine, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.obligations).where(*where)).mappings().all()


def test_the_writer_applies_at_the_workers_instant_with_the_workers_calendar(database, tmp_path):
    url, engine = database
    calendar_dir = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, calendar_dir)
    calendar = LiveCalendar(calendar_dir)
    clock = ManualClock(shanghai(2027, 1, 25, 10))
    writer = WriterProcess(Settings.from_env({}, database_url=url), clock, calendar)
    start = date(2027, 2, 1)
    before = calendar.deadline(start, 15).due_date
    try:
        first = writer.apply_batch(batch(regulation_changed("w-1", start.isoformat(), ["jyj"])))
        (calendar_dir / "2027.yaml").write_text(NOTICE_2027, encoding="utf-8")
        calendar.reload()  # the worker's calendar changed; the writer's files did not tell it
        after = calendar.deadline(start, 15).due_date
        assert after > before  # the notice adds rest days inside the window
        clock.advance(timedelta(minutes=5))
        second = writer.apply_batch(batch(regulation_changed("w-2", start.isoformat(), ["jyj"]), start=1))
        replay = writer.apply_batch(batch(regulation_changed("w-2", start.isoformat(), ["jyj"]), start=1))
    finally:
        writer.close()
    assert (first.obligations_opened, second.obligations_opened, replay.duplicates) == (1, 1, 1)
    rows = {r["trigger_event_id"]: r for r in stored(engine)}
    assert rows["w-1"]["due_date"] == before and rows["w-2"]["due_date"] == after
    assert rows["w-1"]["opened_at"] == shanghai(2027, 1, 25, 10)
    assert rows["w-2"]["opened_at"] == shanghai(2027, 1, 25, 10, 5)
    assert writer.starts == 1 and writer.sent == 3


def test_a_batch_the_database_refuses_comes_back_sorted_and_the_applier_isolates_its_message(database):
    url, engine = database
    refuse_poison(url)
    writer = WriterProcess(Settings.from_env({}, database_url=url), ManualClock(shanghai(2026, 3, 2, 10)), None)
    items = batch(*(regulation_changed(id, "2026-03-02", ["jyj"]) for id in ("ok-1", "POISON", "ok-2")))
    try:
        with pytest.raises(WriterFailure) as failure:
            writer.apply_batch(items)
        assert failure.value.transient is False and "no_poison" in failure.value.description
        applier = BatchApplier(writer.apply_batch, is_transient=writers.is_transient, describe=writers.describe,
                               cause=writers.cause)
        results = asyncio.run(applier.apply(items))
    finally:
        writer.close()
    dead = [letter for result in results for letter in result.dead_letters]
    assert [letter.event_id for letter in dead] == ["POISON"] and "no_poison" in dead[0].reason
    assert sorted(r["trigger_event_id"] for r in stored(engine)) == ["ok-1", "ok-2"]
    assert applier.stats.isolated == 1 and writer.starts == 1


def test_a_writer_that_dies_mid_batch_holds_the_stream_and_a_new_writer_applies_the_batch(sqlite_url):
    engine = create_engine(sqlite_url)
    upgrade(engine)
    writer = WriterProcess(Settings.from_env({}, database_url=sqlite_url), ManualClock(shanghai(2026, 3, 2, 10)), None)
    items = batch(*(regulation_changed(f"k-{i}", "2026-03-02", ["jyj"]) for i in range(5)))
    writer.apply_batch(batch(regulation_changed("warm", "2026-03-02", ["jyj"]), start=100))  # the writer runs
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the writer's batch waits for this write lock
    applier = BatchApplier(writer.apply_batch, is_transient=writers.is_transient, describe=writers.describe,
                           cause=writers.cause, retry_delays=(0.05,))

    async def scenario():
        task = asyncio.ensure_future(applier.apply(items))
        await asyncio.to_thread(wait_until, lambda: writer.sent == 2, 30)
        os.kill(writer.pid, signal.SIGKILL)
        await asyncio.to_thread(wait_until, lambda: applier.stats.retries >= 1, 30)
        assert applier.stats.state == "degraded" and "writer process ended" in applier.stats.cause
        holder.execute("ROLLBACK")
        return await task

    try:
        result = asyncio.run(scenario())
    finally:
        holder.close()
        writer.close()
    assert result.obligations_opened == 5 and applier.stats.state == "ok" and applier.stats.outages == 1
    assert writer.starts == 2
    assert sorted(r["trigger_event_id"] for r in stored(engine, t.obligations.c.trigger_event_id != "warm")) \
        == [f"k-{i}" for i in range(5)]
    engine.dispose()


def test_a_writer_ends_when_its_worker_is_killed_even_in_the_middle_of_a_batch(sqlite_url, tmp_path):
    engine = create_engine(sqlite_url)
    upgrade(engine)
    worker = textwrap.dedent(f"""
        import sys
        import threading
        from config.settings import Settings
        from models.clock import SystemClock
        from streams.broker import wait_until
        from streams.writer import WriterProcess
        from tests.fakes import accepted_at, regulation_changed

        def batch(id):
            return [accepted_at("catalog.regulation-changes", 0, 0, regulation_changed(id, "2026-03-02", ["jyj"]))]

        if __name__ == "__main__":
            writer = WriterProcess(Settings.from_env({{}}, database_url={sqlite_url!r}), SystemClock(), None)
            writer.apply_batch(batch("first"))
            print(writer.pid, flush=True)
            sys.stdin.readline()  # the test holds the database's write lock now
            threading.Thread(target=writer.apply_batch, args=(batch("second"),), daemon=True).start()
            wait_until(lambda: writer.sent == 2, 30)
            print("sent", flush=True)
            sys.stdin.read()  # until the test kills this process
        """)
    script = tmp_path / "worker.py"
    script.write_text(worker, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        pid = int(parent.stdout.readline())
        holder.execute("BEGIN IMMEDIATE")  # the second batch waits for this lock (busy timeout: 30 s)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert parent.stdout.readline().strip() == "sent"
        assert process_state(pid) not in (None, "Z")
        parent.kill()
        parent.wait(30)
        wait_until(lambda: process_state(pid) in (None, "Z"), 10, what="the writer's end, well within 30 s")
    finally:
        holder.close()
        parent.kill()
        parent.stdout.close()
        parent.stdin.close()
    assert [r["trigger_event_id"] for r in stored(engine)] == ["first"]  # the second batch rolled back

    writer = WriterProcess(Settings.from_env({}, database_url=sqlite_url), ManualClock(shanghai(2026, 3, 2)), None)
    writer.apply_batch(batch(regulation_changed("third", "2026-03-02", ["jyj"])))
    process = writer._process
    writer.close()
    assert process.exitcode == 0 and writer.pid is None  # closed: it ended by itself, cleanly
    engine.dispose()


def test_the_worker_applies_through_a_writer_unless_told_or_unable(tmp_path):
    clock, calendar = ManualClock(shanghai(2026, 3, 2)), None
    on_file = Settings.from_env({}, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    assert isinstance(build_writer(on_file, clock, calendar), WriterProcess)
    threaded = Settings.from_env({"TRACKER_INGEST_WRITER": "thread"}, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    assert build_writer(threaded, clock, calendar) is None
    assert build_writer(Settings.from_env({}, database_url="sqlite://"), clock, calendar) is None
    assert build_writer(Settings.from_env({}, database_url="sqlite:///:memory:"), clock, calendar) is None
    with pytest.raises(SettingsError, match="TRACKER_INGEST_WRITER='core' must be one of process, thread"):
        Settings.from_env({"TRACKER_INGEST_WRITER": "core"})
