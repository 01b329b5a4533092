"""Blocking checks with a deadline: a health check or a scrape answers in time even when the database hangs.

``OneAtATime(name).run(fn, timeout=…)`` runs ``fn`` in a daemon thread of its own and waits at most
``timeout`` seconds for it. A call that does not answer in time raises ``NoAnswer``; its thread is left
to finish by itself (a hung socket read cannot be interrupted), and until it does no second thread is
started for the same check: the next callers wait for that one, within their own deadline. So a database
that hangs costs one waiting thread per check, never one per request, and never a thread of the event
loop's default executor (which the worker's batches and ticks need).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, TypeVar

T = TypeVar("T")


class NoAnswer(Exception):
    """The check did not answer within its time."""

    def __init__(self, what: str, seconds: float, waiting_since: float | None = None):
        self.what = what
        self.seconds = seconds
        self.waiting_since = waiting_since
        since = (f"; an earlier check has been waiting for {waiting_since:.0f} s"
                 if waiting_since is not None and waiting_since >= 1 else "")
        super().__init__(f"{what} did not answer within {seconds:g} s{since}")


class OneAtATime:
    """One running call of a blocking check at a time, each caller waiting at most its own timeout."""

    def __init__(self, what: str):
        self.what = what
        self._lock = threading.Lock()
        self._running: Future | None = None
        self._started = 0.0

    def run(self, fn: Callable[[], T], *, timeout: float) -> T:
        """``fn()`` within ``timeout`` seconds (blocking: call it from a thread, e.g. ``asyncio.to_thread``)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                busy = self._running if self._running is not None and not self._running.done() else None
                if busy is None:
                    future = self._start(fn)
            remaining = deadline - time.monotonic()
            if busy is not None:  # an earlier call still waits: wait for it, then run ours if time is left
                try:
                    busy.result(timeout=max(0.0, remaining))
                except FutureTimeout:
                    raise NoAnswer(self.what, timeout, time.monotonic() - self._started) from None
                except Exception:  # noqa: BLE001 - its failure is its caller's; ours runs next
                    pass
                if deadline - time.monotonic() <= 0:
                    raise NoAnswer(self.what, timeout)
                continue
            try:
                return future.result(timeout=max(0.0, remaining))
            except FutureTimeout:
                raise NoAnswer(self.what, timeout) from None

    def _start(self, fn: Callable[[], T]) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()

        def work() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)

        self._running = future
        self._started = time.monotonic()
        threading.Thread(target=work, name=f"check-{self.what}", daemon=True).start()
        return future
