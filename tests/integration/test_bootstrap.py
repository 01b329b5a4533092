"""config.bootstrap is the one composition root: build_worker wires every part and the worker builds none."""
from __future__ import annotations

from config.bootstrap import build_worker
from config.settings import Settings


def test_build_worker_wires_the_parts_the_worker_runs(tmp_path):
    settings = Settings.from_env({}, database_url=f"sqlite:///{tmp_path / 'w.db'}", topic_prefix="p.",
                                 kafka_bootstrap_servers="127.0.0.1:1")
    worker = build_worker(settings)
    parts = worker.parts
    assert parts.leader.relay is parts.relay  # the leader relays with the relay whose counters status() shows
    assert parts.applier.on_applied == parts.leader.wake  # an applied batch wakes the relay
    assert parts.relay.topic_name("catalog.reminders") == "p.catalog.reminders"
    assert parts.leader.on_tick is not None  # the calendar watcher checks its files on each tick
    agents = list(parts.app.agents.values())
    assert len(agents) == 1
    assert set(agents[0].channel.topics) == {"p.catalog.regulation-changes", "p.catalog.duty-changes",
                                             "p.catalog.catalog-updates", "p.catalog.data-objections",
                                             "p.catalog.data-activities"}
    assert parts.api_app is not None
    status = worker.status()
    assert status["relay_lease_holder"] is False and status["ingest"]["messages"] == 0


def test_without_the_api_the_worker_serves_none(tmp_path):
    settings = Settings.from_env({}, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    worker = build_worker(settings, with_api=False)
    assert worker.parts.api_app is None
    assert [type(service).__name__ for service in worker.services()] == ["LeaderService"]


class Unreachable:
    """Stands for a database or broker that hangs: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"status() used {name!r} of the database or the broker")

    def __call__(self, *args, **kwargs):
        raise AssertionError("status() called into the database or the broker")


def test_worker_status_reads_counters_only_so_it_never_blocks(tmp_path):
    settings = Settings.from_env({}, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    worker = build_worker(settings, with_api=False)
    parts = worker.parts
    parts.leader.outbox = parts.relay.outbox = Unreachable()
    parts.leader.tick_fn = parts.applier.apply_batch = Unreachable()
    parts.applier.stats.messages, parts.relay.stats.failures = 7, 2
    status = worker.status()
    assert status["ingest"]["messages"] == 7 and status["relay"]["failures"] == 2
