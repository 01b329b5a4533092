"""The worker's Prometheus instruments, fed by the real batch applier and tracker on fakes; the bounded check.

Each test has its own registry (``PrometheusInstruments()``), so nothing leaks between tests.
"""
from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.bounded import NoAnswer, OneAtATime
from streams.ingest import BatchApplier
from streams.instruments import ConsumerLagCollector, ConsumerPositions, PrometheusInstruments
from streams.leader import found_by_tick
from tests.fakes import Harness, accepted_at, regulation_changed, rejected, shanghai

RC = "catalog.regulation-changes"
CU = "catalog.catalog-updates"


def consumed(instruments, topic, outcome) -> float:
    return instruments.registry.get_sample_value("catalog_tracker_events_consumed_total",
                                                 {"topic": topic, "outcome": outcome}) or 0.0


def test_each_message_is_counted_once_by_topic_and_outcome():
    harness = Harness(shanghai(2026, 3, 2, 10))
    instruments = PrometheusInstruments()
    applier = BatchApplier(harness.tracker.apply_batch, metrics=instruments)
    items = [accepted_at(RC, 0, 0, regulation_changed("R1", "2026-03-02", ["jyj"])),
             accepted_at(RC, 0, 1, regulation_changed("R2", "2026-03-02", ["jyj"])),
             accepted_at(RC, 0, 2, regulation_changed("R3", "2026-03-02", ["nobody-knows"])),  # unknown department
             accepted_at(RC, 0, 3, regulation_changed("R4", "2003-03-03", ["jyj"])),  # before every policy
             rejected(CU, 1, 7, None, b"not json", (), "the message is not JSON")]
    asyncio.run(applier.apply(items))
    # The same two events again (a replay after a crash): duplicates, counted on their topic.
    asyncio.run(applier.apply([accepted_at(RC, 0, 4, regulation_changed("R1", "2026-03-02", ["jyj"])),
                               accepted_at(RC, 0, 5, regulation_changed("R2", "2026-03-02", ["jyj"]))]))

    assert consumed(instruments, RC, "accepted") == 2
    assert consumed(instruments, RC, "duplicate") == 2
    assert consumed(instruments, RC, "dead-lettered") == 1
    assert consumed(instruments, RC, "unassessed") == 1
    assert consumed(instruments, CU, "dead-lettered") == 1
    assert consumed(instruments, CU, "accepted") == 0
    assert instruments.registry.get_sample_value("catalog_tracker_batch_apply_duration_seconds_count") == 2
    assert applier.stats.messages == 7


def test_the_text_format_has_the_conventional_names_and_units():
    instruments = PrometheusInstruments()
    instruments.consumed(RC, "accepted", 3)
    instruments.batch_applied(0.02)
    instruments.relay_sent("catalog.notifications.violations", 2)
    instruments.relay_failed()
    instruments.tick_done(0.5, found_by_tick(SimpleNamespace(reminders=4, violations=1)))
    instruments.delivered("email", "sent", 2)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(instruments.registry).decode())}
    assert {name: families[name].type for name in families} == {
        "catalog_tracker_events_consumed": "counter", "catalog_tracker_batch_apply_duration_seconds": "histogram",
        "catalog_tracker_relay_sent": "counter", "catalog_tracker_relay_failures": "counter",
        "catalog_tracker_tick_duration_seconds": "histogram", "catalog_tracker_tick_found": "counter",
        "catalog_tracker_deliveries": "counter"}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("catalog_tracker_tick_found_total", (("found", "reminders"),))] == 4
    assert samples[("catalog_tracker_tick_found_total", (("found", "overdue"),))] == 0  # shown, at 0
    assert samples[("catalog_tracker_deliveries_total", (("channel", "email"), ("outcome", "sent")))] == 2
    assert samples[("catalog_tracker_relay_failures_total", ())] == 1
    assert samples[("catalog_tracker_tick_duration_seconds_bucket", (("le", "0.5"),))] == 1


def test_two_instruments_count_apart():
    one, two = PrometheusInstruments(), PrometheusInstruments()
    one.consumed(RC, "accepted", 5)
    assert consumed(one, RC, "accepted") == 5 and consumed(two, RC, "accepted") == 0


class FakeConsumer:
    def __init__(self, highwaters, committed=None):
        self.highwaters = highwaters
        self._committed_offset = committed or {}

    def assignment(self):
        return set(self.highwaters)

    def highwater(self, tp):
        return self.highwaters[tp]


def test_consumer_lag_in_messages_and_seconds_per_partition():
    from faust.types import TP as tp

    caught_up, behind, fresh = (tp(topic=RC, partition=0), tp(topic=RC, partition=1), tp(topic=CU, partition=0))
    consumer = FakeConsumer({caught_up: 10, behind: 25, fresh: 7}, committed={fresh: 4})
    positions = ConsumerPositions()
    positions.applied(RC, 0, 9, 1000.0)
    positions.applied(RC, 1, 19, 1030.0)
    positions.applied(RC, 1, 12, 1001.0)  # an older offset never moves the position back
    collector = ConsumerLagCollector(lambda: consumer, positions, wall_time=lambda: 1090.0)
    assert sorted(collector.lags()) == [(CU, 0, 3, None), (RC, 0, 0, 0.0), (RC, 1, 5, 60.0)]
    assert ConsumerLagCollector(lambda: None, positions).lags() == []  # before the consumer runs
    only_inputs = ConsumerLagCollector(lambda: consumer, positions, wall_time=lambda: 1090.0, topics=[RC])
    assert sorted(only_inputs.lags()) == [(RC, 0, 0, 0.0), (RC, 1, 5, 60.0)]  # Faust's own topics are left out


def test_a_check_that_hangs_answers_in_time_and_costs_one_thread():
    release = threading.Event()
    calls = []

    def hangs():
        calls.append(1)
        release.wait(10)
        return "late"

    check = OneAtATime("database")
    try:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(NoAnswer, match="database did not answer within 0.2 s"):
                check.run(hangs, timeout=0.2)
            assert time.monotonic() - started < 0.5
        assert len(calls) == 1  # the later calls waited for the first instead of starting another
    finally:
        release.set()
    assert check.run(lambda: "ok", timeout=1) == "ok"
    with pytest.raises(ZeroDivisionError):
        check.run(lambda: 1 / 0, timeout=1)
