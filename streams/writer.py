"""The ingest writer: ``Tracker.apply_batch`` in a process of its own, so that the worker uses two cores.

Why: a worker is one Python process, and Faust's per-message machinery, decoding, the relay and SQLAlchemy
share one GIL. Measured with py-spy under ``benchmarks/pipeline_bench.py``: the worker at 97 % of one core
while the second was mostly idle, ``apply_batch`` 40 % of its GIL samples. With the writer, the worker's
process reads, decodes and relays while the writer runs the SQL of the previous batch.

How: ``WriterProcess.apply_batch`` (what ``streams.ingest.BatchApplier`` calls, in a thread) sends the decoded
batch, the worker clock's instant and, when it changed, the worker's calendar snapshot, then waits for the
answer. The writer (spawned, with its own engine and ``Tracker`` built from the same ``Settings``) applies the
batch in one transaction and answers with the ``BatchResult``, or with a ``WriterFailure``: the failure already
sorted (transient or not) and described, since a driver's exception does not cross processes intact. So the
applier holds through outages and isolates poison exactly as in one process.

Lifecycle: the writer ends when its pipe closes (the worker stopped: it finishes the batch it has), and within
half a second of its worker's death even in the middle of a batch (its transaction is rolled back; the batch,
never acked, is replayed, and a replay of what did commit is a no-op). If the writer dies, the batch in flight
fails as transient and the next attempt starts a new writer.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Sequence

from models.sql import errors as sql_errors

log = logging.getLogger(__name__)

WRITER_STOP_SECONDS = 10.0  # how long close() waits for the writer to finish its batch before ending it
PARENT_CHECK_SECONDS = 0.5  # how often the writer checks that its worker still runs


class WriterFailure(Exception):
    """A batch failed in the writer: its description, the cause ``stats`` shows, and whether to retry it."""

    def __init__(self, description: str, cause: str, transient: bool):
        super().__init__(description)
        self.description = description
        self.cause = cause
        self.transient = transient

    def __reduce__(self):
        return WriterFailure, (self.description, self.cause, self.transient)

    @classmethod
    def of(cls, exc: BaseException) -> "WriterFailure":
        return cls(sql_errors.describe(exc), sql_errors.cause(exc), sql_errors.is_transient(exc))


def is_transient(exc: BaseException) -> bool:
    return exc.transient if isinstance(exc, WriterFailure) else sql_errors.is_transient(exc)


def describe(exc: BaseException) -> str:
    return exc.description if isinstance(exc, WriterFailure) else sql_errors.describe(exc)


def cause(exc: BaseException) -> str:
    return exc.cause if isinstance(exc, WriterFailure) else sql_errors.cause(exc)


class WriterProcess:
    """The worker's side: one writer process, started on first use and again after it died."""

    def __init__(self, settings: Any, clock: Any, calendar: Any):
        self.settings = settings
        self.clock = clock  # models.clock.Clock: the instant each batch is applied at
        self.calendar = calendar  # calendars.LiveCalendar: its snapshot is the writer's
        self._context = multiprocessing.get_context("spawn")  # nothing of the worker's threads or sockets
        self._lock = threading.Lock()
        self._process = None
        self._conn = None
        self._sent_calendar = None
        self.starts = 0  # writers started (more than one: one ended and was replaced)
        self.sent = 0  # batches handed to a writer

    def apply_batch(self, items: Sequence[Any]) -> Any:
        with self._lock:
            conn = self._ensure_started()
            snapshot = self.calendar.current if self.calendar is not None else None
            changed = snapshot is not None and snapshot is not self._sent_calendar
            try:
                conn.send((self.clock.now(), snapshot if changed else None, list(items)))
                self.sent += 1
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                code = self._reap()
                raise WriterFailure(f"the ingest writer process ended (exit status {code}) while applying a "
                                    f"batch ({type(exc).__name__}); a new one applies it again",
                                    "the ingest writer process ended; starting a new one", True) from None
            if changed:
                self._sent_calendar = snapshot
        if status == "ok":
            return value
        raise value

    def close(self, wait: float = WRITER_STOP_SECONDS) -> None:
        """Close the pipe (the writer ends after its batch) and wait for it, ending it if it does not.

        A batch still in flight after ``wait`` (a database that does not answer) is abandoned: the writer is
        ended, its transaction rolled back, and the batch, never acked, is replayed by the next start.
        """
        if self._lock.acquire(timeout=wait):
            try:
                self._reap(wait=wait)
            finally:
                self._lock.release()
        elif self._process is not None:
            self._process.terminate()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def status(self) -> dict[str, Any]:
        """For the worker's status (counters only, never blocks)."""
        return {"pid": self.pid, "starts": self.starts, "batches": self.sent}

    def _ensure_started(self):
        if self._process is not None and self._process.is_alive():
            return self._conn
        self._reap()
        ours, theirs = self._context.Pipe()
        level = logging.getLogger().getEffectiveLevel()  # the writer logs as the worker does
        process = self._context.Process(target=serve, args=(theirs, self.settings, level),
                                        name="catalog-tracker-writer", daemon=True)
        process.start()
        theirs.close()  # only the writer holds its end: the pipe closes when either process ends
        self._process, self._conn, self._sent_calendar = process, ours, None
        self.starts += 1
        if self.starts > 1:
            log.warning("started a new ingest writer process (pid %d)", process.pid)
        else:
            log.info("the ingest writer process runs (pid %d)", process.pid)
        return ours

    def _reap(self, wait: float = 1.0) -> int | None:
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.join(wait)
        if process.is_alive():
            process.terminate()  # its open transaction is rolled back; the batch was not acked
            process.join(wait)
        return process.exitcode


# ---------------------------------------------------------------- the writer process


def end_with_parent(parent_pid: int, interval: float = PARENT_CHECK_SECONDS) -> threading.Thread:
    """End this process once ``parent_pid`` is no longer its parent, even while a batch waits on a database that
    does not answer (the pipe's end is only seen between batches): what was not committed is rolled back and,
    never acked, replayed by the next worker."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(0)

    thread = threading.Thread(target=watch, name="writer-watches-its-worker", daemon=True)
    thread.start()
    return thread


def serve(conn, settings: Any, log_level: int) -> None:
    """The writer's loop: apply each batch the pipe brings and answer; return when the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which closes the pipe
    end_with_parent(os.getppid())
    from config.bootstrap import build_tracker
    from config.logs import configure
    from models.clock import ManualClock, SystemClock

    configure(settings, log_level)
    clock = ManualClock(SystemClock().now())  # set to the worker's instant before each batch
    tracker = build_tracker(settings, clock=clock)
    while True:
        try:
            instant, snapshot, items = conn.recv()
        except EOFError:
            return
        clock.set(instant)
        if snapshot is not None:
            tracker.calendar.follow(snapshot)
        try:
            reply = ("ok", tracker.apply_batch(items))
        except Exception as exc:  # noqa: BLE001 - sorted and described for the worker, which decides
            reply = ("failed", WriterFailure.of(exc))
        try:
            conn.send(reply)
        except OSError:
            return  # the worker is gone; what was committed is recorded, the rest is replayed
        except Exception as exc:  # noqa: BLE001 - an answer that does not pickle: the worker must still hear
            conn.send(("failed", WriterFailure(f"the writer's answer could not be sent: {type(exc).__name__}: "
                                               f"{exc}", "the ingest writer could not answer", False)))
