"""The notifier: reads the reminder and violation topics and delivers them to people.

Two loops on one event loop:

- the **reader** (aiokafka consumer, its own consumer group ``settings.notifier_group``,
  auto-commit off): for each batch of notifications it writes the planned deliveries
  (``models.delivery.plan``) to the delivery log, and only then commits the offsets.
  A crash before the commit replays the batch; the log's unique key makes that a no-op.
- the **runner** (``delivery.runner.DeliveryRunner``): sends what the log says is due,
  woken by the reader and otherwise every ``poll_seconds`` (retries, digests, robots' turns).

Several notifiers may run (in ``catalog-tracker notify`` processes, or inside workers):
the group splits the partitions among the readers, and the log's claims split the sends.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from aiokafka import AIOKafkaConsumer

from config.settings import Settings
from delivery.runner import DeliveryRunner
from models import cloudevents as ce
from models import wording
from models.delivery import NONE_CHANNEL, Planned, UnreadableNotification, read_notification
from models.events import InvalidEvent
from models.ports import Clock, DeliveryLogPort
from streams.topics import NOTIFICATION_TOPICS

log = logging.getLogger(__name__)


@dataclass
class ReaderStats:
    batches: int = 0
    notifications: int = 0
    rows_written: int = 0
    unreadable: int = 0
    last_error: str | None = None


class Notifier:
    """Built by ``config.bootstrap.build_notifier``; ``start()``/``stop()`` inside a worker, ``run()`` alone."""

    def __init__(self, settings: Settings, log_port: DeliveryLogPort, runner: DeliveryRunner,
                 planner: Callable[[Any, Any], list[Planned]], clock: Clock, *, poll_seconds: float = 0.5,
                 startup_notes: list[str] | None = None,
                 utc_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.settings = settings
        self.log = log_port
        self.runner = runner
        self.planner = planner  # (notification, now) -> planned deliveries
        self.clock = clock  # the tracker's time: how old a notification is
        self.utc_now = utc_now  # the real time: when a row becomes due (like the runner's)
        self.poll_seconds = poll_seconds
        self.startup_notes = startup_notes or []
        self.stats = ReaderStats()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for note in self.startup_notes:
            log.warning("%s", note)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read_loop(), name="notify-reader"),
                       loop.create_task(self._send_loop(), name="notify-runner")]

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        await self.runner.close()

    async def run(self) -> None:
        """Run until ``stop()`` (``catalog-tracker notify``)."""
        self.start()
        await self._stopping.wait()
        await asyncio.wait(self._tasks, timeout=15)

    def status(self) -> dict[str, Any]:
        runner = self.runner.stats
        return {"group": self.settings.notifier_group, "channels": sorted(self.runner.channels),
                "read": {"batches": self.stats.batches, "notifications": self.stats.notifications,
                         "rows_written": self.stats.rows_written, "unreadable": self.stats.unreadable,
                         "last_error": self.stats.last_error},
                "sent": runner.sent, "retried": runner.retried, "failed": runner.failed, "skipped": runner.skipped,
                "last_error": runner.last_error}

    # ------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        settings = self.settings
        session_ms = int(settings.broker_session_timeout * 1000)
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                *(settings.topic(name) for name in NOTIFICATION_TOPICS),
                bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.notifier_group,
                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=settings.fetch_max_wait_ms,
                session_timeout_ms=session_ms, heartbeat_interval_ms=max(100, session_ms // 3),
                max_poll_interval_ms=max(300_000, session_ms * 10), client_id="catalog-tracker-notify")
            try:
                await consumer.start()
                while not self._stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=200, max_records=500)
                    if batches:
                        await self._apply(batches)
                        await consumer.commit()  # only once the delivery log holds the rows
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - uncommitted offsets are read again after the reconnect
                self.stats.last_error = repr(exc)
                log.exception("notifier: reading the notification topics failed; reconnecting")
                await self._pause(2.0)
            finally:
                try:
                    await asyncio.wait_for(consumer.stop(), 10)
                except Exception:  # noqa: BLE001 - closing a broken consumer: nothing more to do
                    pass

    async def _apply(self, batches: dict) -> None:
        now = self.clock.now()
        planned: list[Planned] = []
        for tp, records in batches.items():
            for record in records:
                planned.extend(self._plan_record(tp.topic, tp.partition, record.offset, record.value,
                                                 record.headers, now))
        written = await asyncio.to_thread(self.log.record, planned, self.utc_now())
        self.stats.batches += 1
        self.stats.rows_written += written

    def _plan_record(self, topic: str, partition: int, offset: int, value: bytes | None, headers, now) -> list:
        try:
            event = ce.loads(value or b"", "the notification")
            if not isinstance(event, dict):
                raise UnreadableNotification("the message is not a JSON object")
            notification = read_notification(event)
        except (InvalidEvent, UnreadableNotification) as exc:
            self.stats.unreadable += 1
            reason = getattr(exc, "reason", None) or str(exc)
            log.warning("notifier: %s:%d:%d is not a notification it can read: %s", topic, partition, offset, reason)
            return [Planned(notification_id=f"{topic}:{partition}:{offset}"[:64], channel=NONE_CHANNEL,
                            recipient="-", recipient_label="-", department="-", obligation_id=None, kind="-",
                            level="-", skip_reason=wording.skip_unreadable(reason))]
        self.stats.notifications += 1
        return self.planner(notification, now)

    # ------------------------------------------------------------ sending

    async def _send_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                settled = await self.runner.run_once()
            except Exception as exc:  # noqa: BLE001 - e.g. the database is away: try again shortly
                self.runner.stats.last_error = repr(exc)
                log.exception("notifier: a delivery round failed")
                settled = 0
            if settled == 0:
                await self._pause(self.poll_seconds, wake=True)

    async def _pause(self, seconds: float, wake: bool = False) -> None:
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if wake:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if wake:
            self._wake.clear()
