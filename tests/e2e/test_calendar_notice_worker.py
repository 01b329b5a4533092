"""The real worker's log says the next year's notice is missing once a day, by its clock, from 1 November.

A ``catalog-tracker worker`` process on the bundled broker with a file clock and the shipped
calendar files (no 2027 notice): nothing on 31 October, one line on 1 November however many
ticks run, another on 2 November; /api/health carries the same warning.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from models.clock import SHANGHAI
from streams.broker import wait_until
from tests.e2e.harness import FileClockControl, WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]

LINE = "2027 年的国务院节假日安排通知尚未载入"


def lines_logged(worker: WorkerProcess) -> int:
    return sum(1 for line in worker.log_path.read_text(errors="replace").splitlines() if LINE in line)


def ticks(worker: WorkerProcess) -> int:
    return worker.get("/api/health")[1]["worker"]["scheduler"]["ticks"]


def test_the_worker_logs_the_missing_notice_once_a_day(bootstrap_servers, topic_prefix, tmp_path):
    clock = FileClockControl(tmp_path / "clock.txt", datetime(2026, 10, 31, 12, 0, tzinfo=SHANGHAI))
    worker = WorkerProcess(worker_env(bootstrap_servers, f"sqlite:///{tmp_path / 'tracker.db'}", topic_prefix, clock),
                           tmp_path / "worker.log")
    try:
        body = worker.wait_healthy(timeout=90)
        assert body["missing_notice"] is None
        start = ticks(worker)
        wait_until(lambda: ticks(worker) >= start + 3, 30, what="three ticks on 31 October")
        assert lines_logged(worker) == 0

        clock.set(datetime(2026, 11, 1, 8, 0, tzinfo=SHANGHAI))
        wait_until(lambda: lines_logged(worker) == 1, 30, what="the warning in the worker's log")
        seen = ticks(worker)
        wait_until(lambda: ticks(worker) >= seen + 5, 30, what="five more ticks on 1 November")
        assert lines_logged(worker) == 1
        warning = worker.get("/api/health")[1]["missing_notice"]
        assert warning["year"] == 2027 and warning["provisional_open"] == 0

        clock.set(datetime(2026, 11, 2, 8, 0, tzinfo=SHANGHAI))
        wait_until(lambda: lines_logged(worker) == 2, 30, what="the warning again on 2 November")
        assert "Traceback" not in worker.log_path.read_text(errors="replace")
    finally:
        worker.stop()
