"""The lease holder's duties: the tick and the outbox relay, done by one worker at a time.

APScheduler (``AsyncIOScheduler``, on the worker's event loop) runs
``LeaderDuties.cycle(tick=True)`` every ``tick_seconds``: it takes or renews the
``relay`` lease in SQL and, on the holder (the leader) only, asks the tracker what is due
at ``clock.now()`` (reminders, overdue violations) and then wakes the relay.
The relay runs in a task of its own (``relay_cycle``), woken by ticks and by
``wake()`` (called after each applied input batch), so a broker that is away
never holds the tick up: the outbox keeps what waits. A failing relay round
is retried with back-off (capped at a few seconds).

The lease uses the real time (the tracker's clock may be a test's file
clock that stands still); its TTL is a few ticks, and a relay round stops after
a third of it so the lease is renewed in time. A worker that (re)gains the
lease first reads the broker for rows a previous holder sent but did not
record (``OutboxRelay.recover``).
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from models.ports import NO_METRICS, Clock, MetricsPort
from streams.relay import OutboxRelay
from streams.startup import is_outage, short_cause

log = logging.getLogger(__name__)

LEASE_NAME = "relay"
STOP_SECONDS = 2.0  # how long stop() may wait for a running cycle, the lease's release and the relay's close


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_ttl(tick_seconds: float) -> float:
    return max(5.0, 3 * tick_seconds)


@dataclass
class LeaderStats:
    is_holder: bool = False
    ticks: int = 0
    cycles: int = 0
    last_tick_at: str | None = None
    last_error: str | None = None
    reminders: int = 0
    violations: int = 0
    last_tick_wall: float | None = None  # time.time() when the last tick ended (readiness: is the tick late?)
    holder_since_wall: float | None = None  # time.time() when this worker took the lease


TICK_FINDINGS = ("reminders", "overdue", "violations", "obligations_opened", "obligations_completed")


def found_by_tick(result: Any) -> dict[str, int]:
    """What a ``models.service.TickResult`` found, for ``MetricsPort.tick_done``."""
    return {what: int(getattr(result, what, 0) or 0) for what in TICK_FINDINGS}


class LeaderDuties:
    """Takes the relay lease; while it holds it, ticks the tracker and relays the outbox."""

    def __init__(self, *, tick: Callable[[datetime], Any], relay: OutboxRelay, outbox: Any, clock: Clock,
                 tick_seconds: float, holder: str | None = None, ttl_seconds: float | None = None,
                 utc_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 on_tick: Callable[[bool], Any] | None = None, stop_seconds: float = STOP_SECONDS,
                 metrics: MetricsPort = NO_METRICS):
        self.tick_fn = tick
        self.metrics = metrics
        self.on_tick = on_tick  # called each tick with "is the lease holder" (e.g. CalendarWatcher.check)
        self.relay = relay
        self.outbox = outbox
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.holder = holder or holder_id()
        self.ttl_seconds = ttl_seconds or lease_ttl(tick_seconds)
        self.utc_now = utc_now
        self.stop_seconds = stop_seconds
        self.stats = LeaderStats()
        self._lock = asyncio.Lock()
        self._relay_lock = asyncio.Lock()
        self._relay_failures = 0
        self._outage: str | None = None  # the cause last logged while the database or the broker is away
        self._wake = asyncio.Event()
        self._scheduler: AsyncIOScheduler | None = None
        self._waker: asyncio.Task | None = None
        self._stopping = False

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self._scheduler.add_job(self.cycle, "interval", seconds=self.tick_seconds, kwargs={"tick": True},
                                id="tick", max_instances=1, coalesce=True, misfire_grace_time=None,
                                next_run_time=datetime.now(timezone.utc))
        self._scheduler.start()
        self._waker = asyncio.get_running_loop().create_task(self._wake_loop())

    async def stop(self) -> None:
        """Stop ticking and relaying; bounded by ``stop_seconds`` whether or not the database and broker answer.

        A running cycle may finish, then the lease is given up (so another worker takes over at once). When
        the database or the broker hangs, the lease is left to expire by itself (``ttl_seconds``).
        """
        self._stopping = True
        deadline = time.monotonic() + self.stop_seconds
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._waker is not None:
            self._waker.cancel()
            await asyncio.wait([self._waker], timeout=self._left(deadline))  # never hang the shutdown on it
            self._waker = None
        held: list[asyncio.Lock] = []
        try:
            for lock in (self._lock, self._relay_lock):  # running cycles (tick, relay) may finish
                await asyncio.wait_for(lock.acquire(), self._left(deadline))
                held.append(lock)
        except asyncio.TimeoutError:
            log.warning("stopping: the lease holder's cycle did not finish within %.0f s; the %s lease is left to "
                        "expire", self.stop_seconds, LEASE_NAME)
        else:
            try:
                if self.stats.is_holder:
                    await asyncio.wait_for(asyncio.to_thread(self.outbox.release_lease, LEASE_NAME, self.holder),
                                           self._left(deadline))
                    self.stats.is_holder = False
            except asyncio.TimeoutError:
                log.warning("stopping: the database did not answer within %.0f s; the %s lease expires by itself",
                            self.stop_seconds, LEASE_NAME)
            except Exception as exc:  # noqa: BLE001 - a database that does not answer: the lease expires
                log.warning("stopping: the %s lease could not be given up (%s); it expires by itself", LEASE_NAME,
                            short_cause(exc))
        finally:
            for lock in held:
                lock.release()
        try:
            await asyncio.wait_for(self.relay.close(), max(0.5, self._left(deadline)))
        except Exception as exc:  # noqa: BLE001 - a broker that does not answer: nothing is in flight of ours
            log.warning("stopping: the relay's producer did not close (%s)", short_cause(exc) or "no answer")

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.05, deadline - time.monotonic())

    def wake(self, *_: Any) -> None:
        """Something was written to the outbox: relay soon."""
        self._wake.set()

    async def _wake_loop(self) -> None:
        while not self._stopping:  # relay_cycle() swallows the cancellation that stop() sends: look again here
            await self._wake.wait()
            self._wake.clear()
            if not await self.relay_cycle() and not self._stopping:
                await asyncio.sleep(min(5.0, 0.5 * 2 ** min(self._relay_failures, 4)))
                self._wake.set()  # try again

    # ------------------------------------------------------------ the work

    async def cycle(self, tick: bool) -> None:
        """Renew the lease; on the holder, tick (when ``tick``) and wake the relay."""
        if self._stopping:
            return
        try:
            async with self._lock:
                await self._cycle(tick)
        except asyncio.CancelledError:
            if not self._stopping:
                raise  # cancelled while stopping: nothing to report
        except Exception as exc:  # noqa: BLE001 - logged; the next tick tries again
            self.stats.last_error = repr(exc)
            if not is_outage(exc):
                log.exception("the lease holder's cycle (lease, tick) failed")
            elif short_cause(exc) != self._outage:  # an outage: one line, again only when its cause changes
                self._outage = short_cause(exc)
                log.error("the lease holder's cycle (lease, tick) failed: the database or the broker does "
                          "not answer (%s); trying again every tick", self._outage)
        else:
            if self._outage is not None:
                log.warning("the lease holder's cycle works again (after: %s)", self._outage)
                self._outage = None

    async def _cycle(self, tick: bool) -> None:
        self.stats.cycles += 1
        held = await asyncio.to_thread(self._renew_lease)
        if tick and self.on_tick is not None:
            await asyncio.to_thread(self.on_tick, held)  # on every worker, holder or not
        if not held:
            return
        if tick:
            await asyncio.to_thread(self._tick)
        self.wake()

    async def relay_cycle(self) -> bool:
        """On the holder: relay for up to a third of the lease, renewing it; False when a round failed."""
        if self._stopping or not self.stats.is_holder:
            return True
        try:
            async with self._relay_lock:
                deadline = time.monotonic() + self.ttl_seconds / 3
                while time.monotonic() < deadline and not self._stopping:
                    if not await self.relay.run_once(max_seconds=max(0.1, deadline - time.monotonic())):
                        break
                    if not await asyncio.to_thread(self._renew_lease):
                        break
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            return True
        except Exception as exc:  # noqa: BLE001 - the broker is away or lost its topics: retried with back-off
            self.stats.last_error = repr(exc)
            if self._relay_failures == 0:
                log.warning("relay round failed; the outbox keeps what waits and the relay retries: %r", exc)
            self._relay_failures += 1
            return False
        if self._relay_failures:
            log.warning("relay works again after %d failed rounds", self._relay_failures)
            self._relay_failures = 0
        return True

    def _tick(self) -> None:
        for _ in range(100):  # the tracker works in bounded batches; go on while it says more is due
            now = self.clock.now()
            started = time.monotonic()
            result = self.tick_fn(now)
            self.metrics.tick_done(time.monotonic() - started, found_by_tick(result))
            self.stats.ticks += 1
            self.stats.last_tick_wall = time.time()
            self.stats.last_tick_at = now.isoformat()
            self.stats.reminders += getattr(result, "reminders", 0) or 0
            self.stats.violations += getattr(result, "violations", 0) or 0
            if not getattr(result, "more_due", False):
                break

    def tick_late(self, wall_now: float | None = None) -> float | None:
        """On the holder: seconds since the last tick (or since the lease was taken) when more than three tick
        intervals; None when not late or not the holder (readiness, ``GET /readyz``)."""
        if not self.stats.is_holder:
            return None
        since = max(t for t in (self.stats.last_tick_wall, self.stats.holder_since_wall, 0.0) if t is not None)
        waited = (time.time() if wall_now is None else wall_now) - since
        return waited if waited > 3 * self.tick_seconds else None

    def _renew_lease(self) -> bool:
        held = self.outbox.try_acquire_lease(LEASE_NAME, self.holder, self.ttl_seconds, self.utc_now())
        if held and not self.stats.is_holder:
            log.info("took the %s lease as %s", LEASE_NAME, self.holder)
            self.stats.holder_since_wall = time.time()
            self.relay.needs_recovery = True  # a previous holder may have sent rows it did not record
        elif not held and self.stats.is_holder:
            log.warning("lost the %s lease", LEASE_NAME)
        self.stats.is_holder = held
        return held
