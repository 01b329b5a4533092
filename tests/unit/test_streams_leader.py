"""LeaderDuties without broker or database: lease gating, tick, relay, and stopping while busy."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from models.clock import ManualClock
from tests.fakes import FakeLease


class SlowRelay:
    """A relay round that takes a while (a big backlog)."""

    def __init__(self):
        self.needs_recovery = False
        self.started = asyncio.Event()
        self.rounds = 0
        self.closed = False

    async def run_once(self, max_seconds=None):
        self.rounds += 1
        self.started.set()
        await asyncio.sleep(0.3)
        return 0

    async def close(self):
        self.closed = True


def runner(outbox, relay, ticks):
    from streams.leader import LeaderDuties

    return LeaderDuties(tick=ticks.append, relay=relay, outbox=outbox,
                      clock=ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)), tick_seconds=60,
                      ttl_seconds=6)


def test_stop_returns_while_a_relay_round_is_running():
    async def scenario():
        outbox, relay, ticks = FakeLease(), SlowRelay(), []
        leader = runner(outbox, relay, ticks)
        leader.start()
        leader.wake()
        await asyncio.wait_for(relay.started.wait(), 5)
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(leader.stop(), 5)
        # The running round (0.3 s) finishes; the wake loop must not wait for another wake-up.
        assert asyncio.get_running_loop().time() - started < 2
        return outbox, relay, ticks, leader

    outbox, relay, ticks, leader = asyncio.run(scenario())
    assert relay.closed and outbox.released == [("relay", leader.holder)]
    assert relay.rounds >= 1


def test_only_the_lease_holder_ticks_and_relays():
    async def scenario():
        outbox, relay, ticks = FakeLease(grant=False), SlowRelay(), []
        leader = runner(outbox, relay, ticks)
        await leader.cycle(tick=True)
        await leader.relay_cycle()  # the relay runs in its own task, woken by the tick
        return relay, ticks, leader

    relay, ticks, leader = asyncio.run(scenario())
    assert ticks == [] and relay.rounds == 0 and leader.stats.is_holder is False


def test_gaining_the_lease_asks_the_relay_to_recover_first():
    async def scenario():
        outbox, relay, ticks = FakeLease(grant=True), SlowRelay(), []
        leader = runner(outbox, relay, ticks)
        await leader.cycle(tick=True)
        await leader.relay_cycle()  # the relay runs in its own task, woken by the tick
        return relay, ticks, leader

    relay, ticks, leader = asyncio.run(scenario())
    assert relay.needs_recovery is True and leader.stats.is_holder is True
    assert len(ticks) == 1 and relay.rounds >= 1
