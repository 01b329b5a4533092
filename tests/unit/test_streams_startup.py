"""Before the worker runs (``streams.startup``): wait for, or give up on, the database and the broker; stay stoppable.

The probes are replaced by scripted answers here; the real ones run against real
processes in tests/integration/test_worker_startup_errors.py and tests/e2e/test_worker_lifecycle.py.
"""
from __future__ import annotations

import signal
import threading
import time

import pytest

from streams.startup import (Stopped, Stopping, Unavailable, UnavailableError, broker_problem, check_dependencies,
                             run_stoppable, short_cause, start_worker)

DOWN = Unavailable("database", "postgresql+psycopg2://postgres@db:5432/tracker", "connection refused")


class Script:
    """Answers of the dependency probe, one per call (the last one repeats)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, settings):
        self.calls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_without_waiting_the_problem_is_returned_at_once():
    said: list[str] = []
    problem = check_dependencies(None, wait=False, stopping=Stopping(), say=said.append, probe=Script(DOWN))
    assert problem == DOWN and said == []
    assert str(problem) == ("the database at postgresql+psycopg2://postgres@db:5432/tracker does not answer "
                            "(connection refused)")


def test_waiting_says_one_line_until_the_cause_changes_then_starts():
    broker_down = Unavailable("broker", "kafka:9092", "connection refused")
    probe = Script(DOWN, DOWN, DOWN, broker_down, None)
    said: list[str] = []
    assert check_dependencies(None, wait=True, stopping=Stopping(), say=said.append, retry_seconds=0.01,
                              probe=probe) is None
    assert probe.calls == 5
    assert said == [f"waiting: {DOWN}; trying again every 0 s (Ctrl-C to stop)",
                    f"waiting: {broker_down}; trying again every 0 s (Ctrl-C to stop)",
                    "the broker answers now; starting"]


def test_a_stop_requested_while_waiting_ends_the_wait():
    stopping = Stopping()
    threading.Timer(0.2, lambda: setattr(stopping, "requested", True)).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        check_dependencies(None, wait=True, stopping=stopping, say=lambda text: None, retry_seconds=30,
                           probe=Script(DOWN))
    assert time.monotonic() - started < 2


def test_a_stop_requested_while_a_step_hangs_does_not_wait_for_it():
    stopping, hang = Stopping(), threading.Event()
    threading.Timer(0.2, lambda: setattr(stopping, "requested", True)).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        run_stoppable(lambda: hang.wait(30), stopping)
    assert time.monotonic() - started < 2
    hang.set()


def test_a_step_returns_its_result_or_raises_its_error_in_the_callers_thread():
    assert run_stoppable(lambda: 42, Stopping()) == 42
    with pytest.raises(ZeroDivisionError):
        run_stoppable(lambda: 1 / 0, Stopping())


def test_sigterm_sets_the_flag_while_installed_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with Stopping() as stopping:
        signal.raise_signal(signal.SIGTERM)
        assert stopping.sleep(5) is True  # returns at once: a stop was requested
    assert signal.getsignal(signal.SIGTERM) is before


class FakeWorker:
    def __init__(self, topics_fail: int = 0):
        self.topics_fail = topics_fail
        self.prepared = 0

    def prepare(self):
        if self.topics_fail:
            self.topics_fail -= 1
            raise TimeoutError("topics not visible after 30s")
        self.prepared += 1


class Settings:
    database_url = "postgresql+psycopg2://postgres:secret@db:5432/tracker"
    kafka_bootstrap_servers = "kafka:9092"


def test_a_database_error_while_building_is_waited_out_like_a_probe_failure():
    import sqlalchemy.exc

    builds = []

    def build():  # the database drops out during the first build, the topics fail once after the second
        builds.append(1)
        if len(builds) == 1:
            raise sqlalchemy.exc.OperationalError("select", {}, Exception("server closed the connection\nmore"))
        return FakeWorker(topics_fail=1 if len(builds) == 2 else 0)

    said: list[str] = []
    worker = start_worker(Settings(), build, wait=True, stopping=Stopping(), say=said.append, retry_seconds=0.01,
                          probe=Script(None))
    assert worker.prepared == 1 and len(builds) == 3
    assert said == [
        "waiting: the database at postgresql+psycopg2://postgres:***@db:5432/tracker does not answer "
        "(server closed the connection); trying again every 0 s (Ctrl-C to stop)",
        "waiting: the broker at kafka:9092 does not answer (topics not visible after 30s); trying again every 0 s "
        "(Ctrl-C to stop)"]


def test_without_waiting_a_failure_while_building_is_unavailable():
    with pytest.raises(UnavailableError) as raised:
        start_worker(Settings(), lambda: FakeWorker(topics_fail=1), wait=False, stopping=Stopping(),
                     say=lambda text: None, probe=Script(None))
    assert raised.value.problem.part == "broker"


def test_a_mistake_while_building_is_not_taken_for_an_outage():
    def build():
        raise ValueError("policy file yuhua.yaml line 3: negative limit")

    with pytest.raises(ValueError, match="negative limit"):
        start_worker(Settings(), build, wait=True, stopping=Stopping(), say=lambda text: None,
                     probe=Script(None))


def test_a_port_nobody_listens_on_is_a_refused_broker():
    from streams.broker import free_port

    port = free_port()
    problem = broker_problem(f"127.0.0.1:{port}", seconds=1)
    assert problem == Unavailable("broker", f"127.0.0.1:{port}", "connection refused")


def test_a_broker_that_accepts_but_never_answers_is_named_so():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        problem = broker_problem(f"127.0.0.1:{port}", seconds=1)
    assert problem is not None and problem.part == "broker"
    assert problem.cause.startswith("it accepts connections but answers no Kafka request")


def test_short_causes_read_as_a_person_would_say_them():
    assert short_cause(OSError("Connection refused")) == "connection refused"
    assert short_cause(Exception('connection to server at "db" (10.0.0.5), port 5432 failed: timeout expired\n'
                                 "\tIs the server running?")) == "timeout expired"
    assert short_cause(TimeoutError()) == "TimeoutError"
