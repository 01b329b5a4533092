"""The worker process: Faust agent + APScheduler tick + outbox relay (+ the HTTP API), in one process.

``Worker(parts)`` (built by ``config.bootstrap.build_worker``): ``prepare()`` creates missing topics, ``run()``
blocks until SIGTERM/SIGINT and returns 0 for that stop, whether or not the database and the broker answer.
Each part's stop is bounded (the leader's, the API's), and a Faust worker whose broker is gone can
still hang in its shutdown (waiting on the consumer), so a signal also arms a timer that ends the
process after a grace period, with status 0: the stop was asked for, and nothing is lost by it
(offsets not committed are replayed by the next start, the outbox is recovered by the next relay).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import faust
import mode
from aiohttp import web

from config.logs import faust_worker_options
from config.settings import Settings
from streams.app import rewind_to_start
from streams.ingest import BatchApplier
from streams.leader import LeaderDuties
from streams.relay import OutboxRelay
from streams.topics import all_topic_names, ensure_topics, input_topic_names

log = logging.getLogger(__name__)

EXIT_STOPPED = 0  # a stop that was asked for (SIGTERM/SIGINT), however the parts ended
GRACE_SECONDS = 5.0  # after SIGTERM/SIGINT, the process ends at the latest after this long
API_SHUTDOWN_SECONDS = 1.0  # requests still running when the API stops (a health check on a hung database)
NOTIFIER_STOP_SECONDS = 2.0  # a delivery round still running when the worker stops (it is resumed by the next)


@dataclass
class WorkerParts:
    """Every part a worker runs, built by ``config.bootstrap.build_worker``; the worker builds nothing."""

    settings: Settings
    app: faust.App  # the Faust app, with the ingest agent registered on it
    applier: BatchApplier  # what the agent hands each decoded batch to
    leader: LeaderDuties  # the lease holder's tick and relay
    relay: OutboxRelay  # the leader's relay (its counters feed status())
    api_app: Callable[[Callable[[], dict]], web.Application] | None = None  # the HTTP API, given status()
    notifier: Any = None  # streams.notify.Notifier: delivery to people, when a channel is configured
    positions: Any = None  # streams.instruments.ConsumerPositions: what was applied per partition (the lag)
    writer: Any = None  # streams.writer.WriterProcess: where the applier's batches go; None: in this process


class ApiService(mode.Service):
    """The aiohttp server as a mode service, so it starts and stops with the worker."""

    def __init__(self, application: web.Application, host: str, port: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.application = application
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        self._runner = web.AppRunner(self.application, access_log=None, shutdown_timeout=API_SHUTDOWN_SECONDS)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("HTTP API on http://%s:%d/api/health", self.host, self.port)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class LeaderService(mode.Service):
    """The lease holder's duties (tick, relay) as a mode service, started and stopped with the worker."""

    def __init__(self, leader: LeaderDuties, **kwargs: Any):
        super().__init__(**kwargs)
        self.leader = leader

    async def on_start(self) -> None:
        self.leader.start()

    async def on_stop(self) -> None:
        await self.leader.stop()


class NotifierService(mode.Service):
    """Delivery to people (``streams.notify.Notifier``) as a mode service, started and stopped with the worker."""

    def __init__(self, notifier: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.notifier = notifier

    async def on_start(self) -> None:
        self.notifier.start()

    async def on_stop(self) -> None:
        await self.notifier.stop(timeout=NOTIFIER_STOP_SECONDS)  # within the worker's grace period


class HardExitingWorker(faust.Worker):
    """A Faust worker that ends within ``grace_seconds`` of SIGTERM/SIGINT, with status 0, whatever hangs."""

    grace_seconds: float = GRACE_SECONDS
    stop_requested: Callable[[], bool] = staticmethod(lambda: False)  # a signal that came before Faust's handlers

    def install_signal_handlers(self) -> None:
        super().install_signal_handlers()
        if self.stop_requested():
            self._on_sigterm()

    def _arm_hard_exit(self) -> None:
        if getattr(self, "_hard_exit_armed", False):
            return
        self._hard_exit_armed = True

        def force() -> None:
            log.warning("stopping took more than %.0f s (the database or the broker does not answer): ending the "
                        "process now; what was not committed is replayed by the next start", self.grace_seconds)
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_STOPPED)

        timer = threading.Timer(self.grace_seconds, force)
        timer.daemon = True
        timer.start()

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """Faust's start-up spinner only on a terminal, and the root logger at the level asked for.

        Faust lowers the root logger to DEBUG so that its spinner turns on every record: each debug call in
        aiokafka and kafka-python then built a record that the handler dropped (3.9 % of the worker's
        GIL-holding samples in ``benchmarks/pipeline_bench.py``), and the spinner wrote its escape codes into
        log files.
        """
        if self.spinner is not None and not self.spinner.file.isatty():
            self.spinner = None
        super().on_setup_root_logger(logger, level)
        if level:
            logger.setLevel(level)

    def _on_sigterm(self) -> None:
        self._arm_hard_exit()
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._arm_hard_exit()
        super()._on_sigint()


class Worker:
    """Runs the parts it is given until a signal; ``status()`` (counters only, never blocks) feeds /api/health."""

    def __init__(self, parts: WorkerParts):
        self.parts = parts
        self.settings = parts.settings
        self.app = parts.app
        self.applier = parts.applier
        self.leader = parts.leader
        self.relay = parts.relay
        self.relay.on_reset = self._read_inputs_again  # after a broker reset: read the new inputs from 0

    async def _read_inputs_again(self) -> None:
        """The broker lost its topics: the input topics are new ones, whose offsets start at 0 again."""
        try:
            rewound = await rewind_to_start(self.app, input_topic_names(self.settings))
        except Exception as exc:  # noqa: BLE001 - e.g. in a rebalance, which itself starts them from 0 again
            log.warning("the broker lost its topics; the input partitions could not be rewound (%r): the "
                        "consumer group's rebalance reads them from their start", exc)
            return
        log.warning("the broker lost its topics: reading the %d input partitions from offset 0 again", len(rewound))
        if self.parts.positions is not None:
            self.parts.positions.forget()

    def partitions_assigned(self) -> int:
        """Input partitions the consumer group gave this worker (0 before the first assignment)."""
        consumer = getattr(self.app, "_consumer", None)  # never creates one
        if consumer is None:
            return 0
        inputs = set(input_topic_names(self.settings))  # not Faust's own topics
        try:
            return sum(1 for tp in consumer.assignment() if tp.topic in inputs)
        except Exception:  # noqa: BLE001 - not started yet, or stopping
            return 0

    def status(self) -> dict[str, Any]:
        ingest = self.applier.stats
        leader = self.leader.stats
        relay = self.relay.stats
        return {
            "relay_lease_holder": leader.is_holder,
            "partitions_assigned": self.partitions_assigned(),
            "degraded": [f"{part}: {cause}" for part, cause in (("ingest", ingest.cause), ("relay", relay.cause))
                         if cause],  # what holds the stream or the relay now; empty when all runs
            "ingest": {"state": ingest.state, "cause": ingest.cause, "batches": ingest.batches,
                       "messages": ingest.messages, "accepted": ingest.accepted, "rejected": ingest.rejected,
                       "isolated": ingest.isolated, "splits": ingest.splits, "retries": ingest.retries,
                       "outages": ingest.outages, "last_error": ingest.last_error,
                       **({"writer": self.parts.writer.status()} if self.parts.writer is not None else {})},
            "scheduler": {"ticks": leader.ticks, "last_tick_clock": leader.last_tick_at,
                          "last_error": leader.last_error, "tick_seconds": self.leader.tick_seconds,
                          "late_seconds": self.leader.tick_late()},
            "relay": {"sent": relay.sent, "recovered": relay.recovered, "failures": relay.failures,
                      "resets": relay.resets, "resent": relay.resent, "last_error": relay.last_error},
            **({"notify": self.parts.notifier.status()} if self.parts.notifier is not None else {}),
        }

    def services(self) -> list[mode.Service]:
        services: list[mode.Service] = [LeaderService(self.leader)]
        if self.parts.notifier is not None:
            services.append(NotifierService(self.parts.notifier))
        if self.parts.api_app is not None:
            services.append(ApiService(self.parts.api_app(self.status), self.settings.http_host,
                                       self.settings.http_port))
        return services

    def prepare(self) -> None:
        """Create the missing topics (blocking; ``streams.startup`` runs it so that a stop stays possible)."""
        ensure_topics(self.settings.kafka_bootstrap_servers, all_topic_names(self.settings),
                      self.settings.topic_partitions)

    def run(self, *, loglevel: str = "info", grace_seconds: float = GRACE_SECONDS,
            stop_requested: Callable[[], bool] | None = None) -> int:
        """Run until SIGTERM/SIGINT; the exit status (0 for that stop).

        ``stop_requested``: a signal caught before Faust installed its own handlers (see ``streams.startup``).
        """
        faust_worker = HardExitingWorker(self.app, *self.services(), loglevel=loglevel, redirect_stdouts=False,
                                         **faust_worker_options(self.settings, loglevel))  # TRACKER_LOG_FORMAT
        # A tick that waits for a long relay round is simply skipped: not worth a warning each time.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        faust_worker.grace_seconds = grace_seconds
        if stop_requested is not None:
            faust_worker.stop_requested = stop_requested
        try:
            faust_worker.execute_from_commandline()
            status = 0
        except SystemExit as exc:
            status = int(exc.code or 0)
        if self.parts.writer is not None:
            self.parts.writer.close(wait=grace_seconds)
        leave_hung_threads(status)
        return status


def leave_hung_threads(status: int, wait_seconds: float = 0.5) -> None:
    """End the process now when threads still wait on a database or broker that does not answer.

    The interpreter would otherwise wait for them at exit (``asyncio.to_thread`` threads are not daemons);
    what they were doing was not committed and is done again by the next start.
    """
    deadline = time.monotonic() + wait_seconds
    waiting = []
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                waiting.append(thread.name)
    if waiting:
        log.warning("%d threads still wait for the database or the broker; ending the process without them",
                    len(waiting))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
