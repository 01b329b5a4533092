"""The worker process itself: it exits on SIGTERM even when its broker has gone away."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest

from streams.broker import start_local_broker
from tests.e2e.harness import Pipeline

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_sigterm_stops_the_worker_even_without_a_broker(tmp_path, sqlite_url, topic_prefix):
    broker = start_local_broker(log_file=tmp_path / "tansu.log")
    pipeline = Pipeline(broker.bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
    try:
        worker = pipeline.start_worker()
        worker.wait_healthy()
        broker.stop()  # the broker is gone; Faust's consumer now waits for it forever
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker ignored SIGTERM for 30 s; log:\n{worker.log_tail()}")
        assert time.monotonic() - started <= 10 + 5  # --grace-seconds 10, plus interpreter exit
    finally:
        pipeline.close()
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
