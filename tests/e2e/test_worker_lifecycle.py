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
