"""The worker process: Faust agent + APScheduler tick + outbox relay (+ the HTTP API), in one process.

``Worker(parts).run()`` (built by ``config.bootstrap.build_worker``) blocks until SIGTERM/SIGINT. A Faust worker
whose broker is gone can hang in its shutdown (waiting on the consumer), so a
signal also arms a timer that hard-exits the process after a grace period:
nothing is lost by that, since offsets not committed are replayed and the
outbox is recovered by the next relay.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable

import faust
import mode
from aiohttp import web

from config.logs import faust_worker_options
from config.settings import Settings
from streams.ingest import BatchApplier
from streams.leader import LeaderDuties
from streams.relay import OutboxRelay
from streams.topics import all_topic_names, ensure_topics

log = logging.getLogger(__name__)

EXIT_FORCED = 1


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


class ApiService(mode.Service):
    """The aiohttp server as a mode service, so it starts and stops with the worker."""

    def __init__(self, application: web.Application, host: str, port: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.application = application
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        self._runner = web.AppRunner(self.application, access_log=None)
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
        await self.notifier.stop()


class HardExitingWorker(faust.Worker):
    """A Faust worker that exits within ``grace_seconds`` of SIGTERM/SIGINT, whatever hangs."""

    grace_seconds: float = 15.0

    def _arm_hard_exit(self) -> None:
        def force() -> None:
            log.error("shutdown took more than %.0fs: exiting now", self.grace_seconds)
            logging.shutdown()
            os._exit(EXIT_FORCED)

        timer = threading.Timer(self.grace_seconds, force)
        timer.daemon = True
        timer.start()

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

    def status(self) -> dict[str, Any]:
        ingest = self.applier.stats
        leader = self.leader.stats
        relay = self.relay.stats
        return {
            "relay_lease_holder": leader.is_holder,
            "ingest": {"batches": ingest.batches, "messages": ingest.messages, "accepted": ingest.accepted,
                       "rejected": ingest.rejected, "retries": ingest.retries, "last_error": ingest.last_error},
            "scheduler": {"ticks": leader.ticks, "last_tick_clock": leader.last_tick_at,
                          "last_error": leader.last_error},
            "relay": {"sent": relay.sent, "recovered": relay.recovered, "failures": relay.failures,
                      "last_error": relay.last_error},
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

    def run(self, *, loglevel: str = "info", grace_seconds: float = 15.0) -> int:
        """Create missing topics, then run until a signal; returns the exit status."""
        try:
            ensure_topics(self.settings.kafka_bootstrap_servers, all_topic_names(self.settings),
                          self.settings.topic_partitions)
        except Exception as exc:  # noqa: BLE001 - say plainly what is wrong instead of a traceback
            print(f"catalog-tracker worker: cannot create or find the topics on "
                  f"KAFKA_BOOTSTRAP_SERVERS={self.settings.kafka_bootstrap_servers}: {exc!r}", file=sys.stderr)
            return 1
        faust_worker = HardExitingWorker(self.app, *self.services(), loglevel=loglevel, redirect_stdouts=False,
                                         **faust_worker_options(self.settings, loglevel))  # TRACKER_LOG_FORMAT
        # A tick that waits for a long relay round is simply skipped: not worth a warning each time.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        faust_worker.grace_seconds = grace_seconds
        try:
            faust_worker.execute_from_commandline()
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0
