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


class HangingLease(FakeLease):
    """A database that stops answering: every lease call blocks until the test lets it go."""

    def __init__(self):
        super().__init__(grant=True)
        import threading

        self.hang = threading.Event()
        self.calls = 0

    def try_acquire_lease(self, name, holder, ttl_seconds, now_utc):
        self.calls += 1
        if self.calls > 1:
            self.hang.wait(30)
        return True

    def release_lease(self, name, holder):
        self.hang.wait(30)
        super().release_lease(name, holder)


def test_stop_is_bounded_when_the_database_hangs_mid_cycle():
    async def scenario():
        lease, relay, ticks = HangingLease(), SlowRelay(), []
        from streams.leader import LeaderDuties

        leader = LeaderDuties(tick=ticks.append, relay=relay, outbox=lease,
                              clock=ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)), tick_seconds=60,
                              ttl_seconds=6, stop_seconds=0.5)
        await leader.cycle(tick=False)  # holds the lease now
        assert leader.stats.is_holder
        cycle = asyncio.ensure_future(leader.cycle(tick=False))  # this one hangs on the lease renewal
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(leader.stop(), 5)
        elapsed = asyncio.get_running_loop().time() - started
        lease.hang.set()  # let the stuck thread end
        await asyncio.wait_for(cycle, 5)
        return elapsed, lease, relay

    elapsed, lease, relay = asyncio.run(scenario())
    assert elapsed < 1.5  # stop_seconds 0.5, not the 30 s the database would take
    assert lease.released == []  # not given up: it expires by itself
    assert relay.closed


def test_stop_gives_the_lease_up_when_nothing_hangs():
    async def scenario():
        lease, relay, ticks = FakeLease(grant=True), SlowRelay(), []
        leader = runner(lease, relay, ticks)
        await leader.cycle(tick=False)
        await asyncio.wait_for(leader.stop(), 5)
        return lease, leader

    lease, leader = asyncio.run(scenario())
    assert lease.released == [("relay", leader.holder)] and leader.stats.is_holder is False


class FlakyLease(FakeLease):
    """A database that is away for the first ``down`` lease calls."""

    def __init__(self, down: int):
        super().__init__(grant=True)
        self.down = down

    def try_acquire_lease(self, name, holder, ttl_seconds, now_utc):
        import psycopg2
        import sqlalchemy.exc

        if self.down > 0:  # what SQLAlchemy raises when PostgreSQL closes the connection (the driver's own error)
            self.down -= 1
            raise sqlalchemy.exc.OperationalError("select", {},
                                                  psycopg2.OperationalError("server closed the connection unexpectedly"))
        return True


def test_an_outage_is_one_log_line_without_traceback_and_its_end_one_more(caplog):
    async def scenario():
        leader = runner(FlakyLease(down=3), SlowRelay(), [])
        for _ in range(4):
            await leader.cycle(tick=False)
        return leader

    with caplog.at_level("INFO", logger="streams.leader"):
        leader = asyncio.run(scenario())
    records = [r for r in caplog.records if r.name == "streams.leader" and r.levelname in ("ERROR", "WARNING")]
    assert [r.levelname for r in records] == ["ERROR", "WARNING"]
    assert "does not answer (server closed the connection unexpectedly)" in records[0].getMessage()
    assert records[0].exc_info is None  # an outage is expected: no traceback
    assert "works again" in records[1].getMessage()
    assert leader.stats.is_holder is True


def test_a_bug_in_a_cycle_still_logs_its_traceback(caplog):
    class Broken(FakeLease):
        def try_acquire_lease(self, *args):
            raise KeyError("a bug")

    async def scenario():
        await runner(Broken(), SlowRelay(), []).cycle(tick=False)

    with caplog.at_level("ERROR", logger="streams.leader"):
        asyncio.run(scenario())
    [record] = [r for r in caplog.records if r.name == "streams.leader"]
    assert record.exc_info is not None
