"""The delivery runner: claims due rows of the delivery log, sends them, records what happened.

One round (``run_once``): claim the rows whose time has come (robots within
their rate per minute; a digest's rows together), then for each claimed unit:

1. a reminder whose obligation is no longer open is not sent: ``skipped``, with why;
2. otherwise the channel sends it (within the send timeout);
3. delivered -> ``sent``; transient failure -> ``pending`` again after the ladder's
   back-off (or the wait the robot asked for); permanent failure, or the last
   attempt -> ``failed`` with the reason, and an undeliverable event to the outbox.

The claim is written before the send and the outcome after it. A crash before
the send leaves a claim that expires (``claim_seconds``): the row is sent by
the next round of any notifier. A crash after a successful send and before
``mark_sent`` makes that one send happen twice; the message carries its
notification id so people can tell. Time here is the real time (like the relay
lease): back-off and claims must move even when the tracker's clock stands still.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from models import wording
from models.delivery import REMINDER, DeliveryRow, Message, Outcome, undeliverable_cloudevent
from models.escalation import Ladder
from models.ports import NO_METRICS, ChannelPort, DeliveryLogPort, MetricsPort

log = logging.getLogger(__name__)

OPEN = "open"


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RunnerStats:
    rounds: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    last_error: str | None = None


class DeliveryRunner:
    def __init__(self, log_port: DeliveryLogPort, channels: Mapping[str, ChannelPort], ladder: Ladder, *,
                 timeout: float = 20.0, batch_size: int = 50, concurrency: int = 8, holder: str | None = None,
                 utc_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 metrics: MetricsPort = NO_METRICS):
        self.log = log_port
        self.metrics = metrics
        self.channels = dict(channels)
        self.ladder = ladder
        self.timeout = timeout
        self.claim_seconds = 3 * timeout + 5  # longer than any send: a live claim never expires under a sender
        self.batch_size = batch_size
        self.holder = holder or holder_id()
        self.utc_now = utc_now
        self.stats = RunnerStats()
        self._limit = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """Claim and deliver the rows due now; how many rows were settled."""
        self.stats.rounds += 1
        rows = await asyncio.to_thread(self.log.claim_due, self.holder, self.utc_now(), limit=self.batch_size,
                                       claim_seconds=self.claim_seconds,
                                       robot_per_minute=self.ladder.robot_messages_per_minute)
        if not rows:
            return 0
        units: dict[object, list[DeliveryRow]] = {}
        for row in rows:
            units.setdefault(row.digest_key or row.id, []).append(row)
        await asyncio.gather(*(self._guarded(unit) for unit in units.values()))
        return len(rows)

    async def _guarded(self, unit: list[DeliveryRow]) -> None:
        async with self._limit:
            try:
                await self._deliver(unit)
            except Exception as exc:  # noqa: BLE001 - the claim expires and the rows are tried again
                self.stats.last_error = repr(exc)
                log.exception("delivering %s failed; its claim will expire and it is tried again",
                              ", ".join(r.notification_id for r in unit))

    async def _deliver(self, unit: list[DeliveryRow]) -> None:
        unit = await self._drop_closed(unit)
        if not unit:
            return
        first = unit[0]
        channel = self.channels.get(first.channel)
        if channel is None:
            await self._fail(unit, f"channel {first.channel} is no longer configured")
            return
        message = Message(notices=tuple(r.notice for r in unit if r.notice is not None), greeting=first.greeting,
                          mentions=tuple(dict.fromkeys(m for r in unit for m in r.mentions)),
                          cloudevent=first.cloudevent)
        try:
            outcome = await asyncio.wait_for(channel.send(first.recipient, first.address, message), self.timeout)
        except asyncio.TimeoutError:
            outcome = Outcome.transient(f"no answer within {self.timeout:g} s")
        await self._record(unit, outcome)

    async def _drop_closed(self, unit: list[DeliveryRow]) -> list[DeliveryRow]:
        """Reminders whose obligation was completed (or went overdue) before they could go are not sent."""
        keep = []
        for row in unit:
            if row.kind == REMINDER and row.obligation_id:
                status = await asyncio.to_thread(self.log.obligation_status, row.obligation_id)
                if status is not None and status != OPEN:
                    await asyncio.to_thread(self.log.mark_skipped, [row.id], self.holder,
                                            wording.skip_obligation_closed(status), self.utc_now())
                    self.stats.skipped += 1
                    self.metrics.delivered(row.channel, "skipped")
                    continue
            keep.append(row)
        return keep

    async def _record(self, unit: list[DeliveryRow], outcome: Outcome) -> None:
        ids = [r.id for r in unit]
        now = self.utc_now()
        if outcome.delivered:
            await asyncio.to_thread(self.log.mark_sent, ids, self.holder, now)
            self.stats.sent += len(ids)
            self.metrics.delivered(unit[0].channel, "sent", len(ids))
            return
        attempts = max(r.attempts for r in unit)
        if outcome.permanent:
            await self._fail(unit, outcome.reason)
        elif attempts >= self.ladder.retry.max_attempts:
            await self._fail(unit, wording.gave_up(attempts, outcome.reason))
        else:
            delay = max(self.ladder.retry.delay(attempts), outcome.retry_after or 0.0)
            await asyncio.to_thread(self.log.mark_retry, ids, self.holder, outcome.reason,
                                    now + timedelta(seconds=delay), now)
            self.stats.retried += len(ids)
            self.metrics.delivered(unit[0].channel, "retried", len(ids))
            log.info("delivery of %s by %s to %s failed for now (%s); next try in %.0f s",
                     unit[0].notification_id, unit[0].channel, unit[0].recipient_label, outcome.reason, delay)

    async def _fail(self, unit: list[DeliveryRow], reason: str) -> None:
        now = self.utc_now()
        events = [undeliverable_cloudevent(r, reason, r.attempts, now) for r in unit]
        await asyncio.to_thread(self.log.mark_failed, unit, self.holder, reason, now, events)
        self.stats.failed += len(unit)
        self.metrics.delivered(unit[0].channel, "failed", len(unit))
        log.warning("delivery of %s by %s to %s is undeliverable: %s", unit[0].notification_id, unit[0].channel,
                    unit[0].recipient_label, reason)

    async def close(self) -> None:
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
