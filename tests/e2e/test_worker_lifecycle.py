"""The worker process itself: clean stops and clear states (issue 9).

- SIGTERM stops it within a few seconds with status 0 whether or not the database and the broker
  answer; what was not committed is applied by the next start, once.
- Started while the database or the broker is down, it waits with ``--wait-for-dependencies`` (one
  line says so) and starts by itself when they answer (exiting with 75 otherwise:
  tests/integration/test_worker_startup_errors.py).

The database is PostgreSQL behind a TCP proxy the test cuts (``tests.tcp_proxy``): "refuse" is a
server that is down, "stall" one that accepts and never answers.
"""
from __future__ import annotations

import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from streams.broker import free_port, start_local_broker, wait_until
from tests.e2e.harness import Pipeline, process_state
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.broker, pytest.mark.slow]

STOP_SECONDS = 5 + 3  # the default grace (5 s), plus the interpreter's exit


def stop_with_sigterm(worker) -> tuple[int, float]:
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    try:
        status = worker.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker ignored SIGTERM for 30 s; log:\n{worker.log_tail()}")
    return status, time.monotonic() - started


@pytest.fixture
def proxied_postgres(postgres_url):
    """(proxy, URL of the test's PostgreSQL database through the proxy)."""
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield proxy, url.set(port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


def obligations_opened(output) -> list[str]:
    return [e["data"]["trigger_event_id"] for e in output.events("catalog.obligations")
            if e["type"].endswith(".opened")]


def test_sigterm_stops_the_worker_even_without_a_broker(tmp_path, sqlite_url, topic_prefix):
    broker = start_local_broker(log_file=tmp_path / "tansu.log")
    pipeline = Pipeline(broker.bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
    try:
        worker = pipeline.start_worker()
        worker.wait_healthy()
        broker.stop()  # the broker is gone; Faust's consumer now waits for it forever
        status, elapsed = stop_with_sigterm(worker)
        assert status == 0, worker.log_tail()
        assert elapsed <= STOP_SECONDS
    finally:
        pipeline.close()
        broker.stop()


@pytest.mark.parametrize("outage", ["refuse", "stall"])
def test_sigterm_stops_the_worker_when_the_database_is_gone_and_the_next_start_applies_the_rest(
        bootstrap_servers, topic_prefix, proxied_postgres, tmp_path, outage):
    from tests.e2e.test_pipeline import REG, regulation

    proxy, url = proxied_postgres
    pipeline = Pipeline(bootstrap_servers, topic_prefix, url, tmp_path)
    try:
        first = pipeline.start_worker()
        first.wait_healthy()
        pipeline.publisher.send_event(REG, regulation("R1", "2026-03-02", "jyj"), key="jyj")
        pipeline.wait_for(lambda o: obligations_opened(o) == ["R1"], what="R1's obligation")

        proxy.cut(outage)
        pipeline.publisher.send_event(REG, regulation("R2", "2026-03-02", "mzj"), key="mzj")  # cannot be applied
        status, elapsed = stop_with_sigterm(first)
        assert status == 0, first.log_tail()
        assert elapsed <= STOP_SECONDS, first.log_tail()
        assert "Traceback" not in first.log_tail(400)

        proxy.restore()
        second = pipeline.start_worker()
        pipeline.wait_for(lambda o: "R2" in obligations_opened(o), what="R2's obligation, after the restart")
        pipeline.output.settle(10)
        assert sorted(obligations_opened(pipeline.output)) == ["R1", "R2"]  # each once
        status, elapsed = stop_with_sigterm(second)
        assert status == 0 and elapsed <= STOP_SECONDS
    finally:
        proxy.restore()
        pipeline.close()


def test_a_worker_waiting_for_its_database_starts_by_itself_once_it_answers(bootstrap_servers, topic_prefix,
                                                                            proxied_postgres, tmp_path):
    from tests.e2e.test_pipeline import REG, regulation

    proxy, url = proxied_postgres
    proxy.cut("refuse")
    pipeline = Pipeline(bootstrap_servers, topic_prefix, url, tmp_path)
    try:
        worker = pipeline.start_worker(args=("--wait-for-dependencies",))
        wait_until(lambda: worker.check_alive() or "waiting: the database at" in worker.log_tail(), 30,
                   what="the worker's waiting line")
        proxy.restore()
        worker.wait_healthy()
        pipeline.publisher.send_event(REG, regulation("R1", "2026-03-02", "jyj"), key="jyj")
        pipeline.wait_for(lambda o: obligations_opened(o) == ["R1"], what="R1's obligation")
        log = worker.log_tail(400)
        waiting = [line for line in log.splitlines() if "waiting:" in line]
        assert len(waiting) == 1 and "does not answer" in waiting[0] and f":{proxy.port}/" in waiting[0]
        assert "the database answers now; starting" in log and "Traceback" not in log
    finally:
        proxy.restore()
        pipeline.close()


def test_a_worker_waiting_for_its_broker_starts_by_itself_once_it_answers(topic_prefix, sqlite_url, tmp_path):
    from tests.e2e.test_pipeline import REG, regulation

    port = free_port()
    pipeline = None
    worker = None
    broker = None
    try:
        from tests.e2e.harness import FileClockControl, WorkerProcess, worker_env

        clock = FileClockControl(tmp_path / "clock.txt", Pipeline.START)
        worker = WorkerProcess(worker_env(f"127.0.0.1:{port}", sqlite_url, topic_prefix, clock),
                               tmp_path / "worker.log", args=("--wait-for-dependencies",))
        wait_until(lambda: worker.check_alive() or "waiting: the broker at" in worker.log_tail(), 30,
                   what="the worker's waiting line")
        broker = start_local_broker(port=port, log_file=tmp_path / "tansu.log")
        worker.wait_healthy()
        pipeline = Pipeline(broker.bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
        pipeline.publisher.send_event(REG, regulation("R1", "2026-03-02", "jyj"), key="jyj")
        pipeline.wait_for(lambda o: obligations_opened(o) == ["R1"], what="R1's obligation")
        log = worker.log_tail(400)
        assert len([line for line in log.splitlines() if "waiting:" in line]) == 1
        assert f"the broker at 127.0.0.1:{port} does not answer (connection refused)" in log
        assert "Traceback" not in log
    finally:
        if worker is not None:
            worker.stop()
        if pipeline is not None:
            pipeline.close()
        if broker is not None:
            broker.stop()


def test_a_new_notice_file_is_picked_up_by_the_running_worker(bootstrap_servers, topic_prefix, sqlite_url, tmp_path):
    """2026's notice is added while the worker runs: the open obligation is rescheduled once, without a restart."""
    import shutil
    from datetime import datetime

    from config.settings import CONFIG_DIR
    from models.clock import SHANGHAI
    from tests.e2e.test_pipeline import REG, regulation

    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    notice = (calendar_dir / "2026.yaml").read_text(encoding="utf-8")
    (calendar_dir / "2026.yaml").unlink()
    pipeline = Pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path, TRACKER_CALENDAR_DIR=str(calendar_dir))
    try:
        pipeline.clock.set(datetime(2026, 9, 21, 10, 0, tzinfo=SHANGHAI))
        pipeline.start_worker(api=False)
        pipeline.publisher.send_event(REG, regulation("R9", "2026-09-18", "jyj"), key="jyj")
        opened = pipeline.wait_for(lambda o: o.events("catalog.obligations"), what="the provisional obligation")[0]
        assert opened["data"]["provisional"] is True

        (calendar_dir / "2026.yaml").write_text(notice, encoding="utf-8")
        pipeline.wait_for(lambda o: any(e["type"].endswith(".rescheduled") for e in o.events("catalog.obligations")),
                          what="the rescheduled obligation")
        pipeline.output.settle(10)
        rescheduled = [e for e in pipeline.output.events("catalog.obligations") if e["type"].endswith(".rescheduled")]
        assert len(rescheduled) == 1
        assert rescheduled[0]["data"]["provisional"] is False
        assert rescheduled[0]["data"]["previous_provisional"] is True
    finally:
        pipeline.close()


def test_a_worker_started_after_its_notice_file_changed_reschedules_by_itself(bootstrap_servers, topic_prefix,
                                                                               sqlite_url, tmp_path):
    """2026's notice is added while no worker runs (a deploy with the new file): the next worker compares the
    calendar with the one the obligations were scheduled against (stored) and reschedules once."""
    import shutil
    from datetime import datetime

    from config.settings import CONFIG_DIR
    from models.clock import SHANGHAI
    from models.sql import tables as t
    from tests.e2e.test_pipeline import REG, regulation

    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    notice = (calendar_dir / "2026.yaml").read_text(encoding="utf-8")
    (calendar_dir / "2026.yaml").unlink()
    pipeline = Pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path, TRACKER_CALENDAR_DIR=str(calendar_dir))
    jobs = t.reschedule_jobs.c
    try:
        pipeline.clock.set(datetime(2026, 9, 21, 10, 0, tzinfo=SHANGHAI))
        first = pipeline.start_worker(api=False)
        pipeline.publisher.send_event(REG, regulation("R9", "2026-09-18", "jyj"), key="jyj")
        opened = pipeline.wait_for(lambda o: o.events("catalog.obligations"), what="the provisional obligation")[0]
        assert opened["data"]["provisional"] is True
        wait_until(lambda: pipeline.sql(sa.select(jobs.id).where(jobs.state == "done")), 30,
                   what="the first worker recording the calendar the obligations agree with")
        assert first.stop() == 0

        (calendar_dir / "2026.yaml").write_text(notice, encoding="utf-8")
        pipeline.start_worker(api=False)
        pipeline.wait_for(lambda o: any(e["type"].endswith(".rescheduled") for e in o.events("catalog.obligations")),
                          what="the rescheduled obligation")
        pipeline.output.settle(10)
        rescheduled = [e for e in pipeline.output.events("catalog.obligations") if e["type"].endswith(".rescheduled")]
        assert len(rescheduled) == 1
        assert (rescheduled[0]["data"]["previous_provisional"], rescheduled[0]["data"]["provisional"]) == (True, False)
        latest = pipeline.sql(sa.select(jobs.state, jobs.examined, jobs.moved).order_by(jobs.id.desc()).limit(1))
        assert [tuple(row) for row in latest] == [("done", 1, 1)]
    finally:
        pipeline.close()


def test_batches_are_applied_by_a_writer_process_that_ends_with_its_worker(bootstrap_servers, topic_prefix,
                                                                            sqlite_url, tmp_path):
    from tests.e2e.test_pipeline import REG, regulation

    pipeline = Pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
    try:
        writers = []
        for name, stop in (("R1", "sigterm"), ("R2", "sigkill")):
            worker = pipeline.start_worker()
            worker.wait_healthy()
            pipeline.publisher.send_event(REG, regulation(name, "2026-03-02", "jyj"), key="jyj")
            pipeline.wait_for(lambda o: name in obligations_opened(o), what=f"{name}'s obligation")
            writer = worker.health()["worker"]["ingest"]["writer"]
            assert writer["batches"] >= 1 and writer["starts"] == 1 and writer["pid"] not in (None, worker.pid)
            assert process_state(writer["pid"]) not in (None, "Z")
            writers.append(writer["pid"])
            if stop == "sigterm":
                status, elapsed = stop_with_sigterm(worker)
                assert status == 0 and elapsed <= STOP_SECONDS, worker.log_tail()
                assert process_state(writer["pid"]) is None  # the worker waited for it and reaped it
            else:
                worker.process.kill()
                worker.process.wait(30)
                wait_until(lambda: process_state(writer["pid"]) in (None, "Z"), 10, what="the orphaned writer's end")
        assert len(set(writers)) == 2
        assert sorted(obligations_opened(pipeline.output)) == ["R1", "R2"]
    finally:
        pipeline.close()
