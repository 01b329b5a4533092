"""GET /metrics, /healthz, /readyz and /api/health on real databases (SQLite and PostgreSQL), over HTTP.

The hangs are real: PostgreSQL behind a TCP proxy that stops forwarding (``tests.tcp_proxy``, "stall"), and
SQLite held by another connection in exclusive locking mode. The answers must come within a second and
name the part that did not answer.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import datetime

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from api.app import build_api
from config.bootstrap import build_api_context, build_models
from config.settings import Settings
from models.clock import SHANGHAI, ManualClock
from models.events import CATALOG_UPDATED, REGULATION_CHANGED
from models.sql import tables
from models.validation import build_cloudevent, event_from_attributes
from streams.broker import wait_until
from streams.instruments import PrometheusInstruments
from tests.fakes import accepted_at, rejected
from tests.tcp_proxy import TcpProxy

NOW = datetime(2026, 3, 17, 10, 0, tzinfo=SHANGHAI)
READ_TOKEN = "test-read-token-0123456789"
WITHIN = 1.0  # seconds: issue 9, "/api/health answers within a second even when the database hangs"


def events():
    return [
        build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
            "regulation_id": "r1", "title": "《数据条例》修订", "change_kind": "amended", "changed_on": "2026-03-02",
            "affected_departments": ["jyj", "mzj"]}, id="R1", time=NOW),
        build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
            "regulation_id": "r2", "title": "《旧条例》修订", "change_kind": "amended", "changed_on": "2026-01-05",
            "affected_departments": ["czj"]}, id="R2", time=NOW),
        build_cloudevent(CATALOG_UPDATED, "/yuhua/catalog-platform", {
            "department": "jyj", "submitted_at": "2026-03-10T15:00:00+08:00", "catalog_version": "v2",
            "resolves": ["R1"]}, id="U1", time=NOW),
    ]


def build(database_url: str, **settings_overrides):
    settings = Settings.from_env({}, database_url=database_url, **settings_overrides)
    clock = ManualClock(NOW)
    parts = build_models(settings, clock)
    items = [accepted_at("catalog.regulation-changes", 0, i, event_from_attributes(e)) for i, e in enumerate(events())]
    items.append(rejected("catalog.regulation-changes", 0, 9, None, b"{", (), "the message is not JSON"))
    parts.tracker.apply_batch(items)
    instruments = PrometheusInstruments()
    instruments.consumed("catalog.regulation-changes", "accepted", 3)
    context = build_api_context(settings, clock=clock, parts=parts, metrics=instruments.registry)
    return context, parts


@pytest.fixture
def world(database_url):
    context, parts = build(database_url)
    yield context, parts
    parts.engine.dispose()


def request(context, path: str, headers: dict | None = None) -> tuple[int, str, str, float]:
    """(status, content type, body text, seconds it took)."""
    async def run():
        async with TestClient(TestServer(build_api(context))) as client:
            started = time.monotonic()
            response = await client.get(path, headers=headers)
            text = await response.text()
            return response.status, response.headers["Content-Type"], text, time.monotonic() - started

    return asyncio.run(run())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_show_the_process_counters_and_the_sql_gauges_in_the_text_format(world):
    context, parts = world
    status, content_type, text, _ = request(context, "/metrics")
    assert status == 200 and content_type.startswith("text/plain") and "version=" in content_type
    found = samples(text)
    assert found[("catalog_tracker_events_consumed_total",
                  (("outcome", "accepted"), ("topic", "catalog.regulation-changes")))] == 3
    assert found[("catalog_tracker_database_answered", ())] == 1
    with parts.engine.connect() as conn:
        o, b = tables.outbox.c, tables.obligations.c
        pending = conn.execute(sa.select(sa.func.count()).where(o.sent.is_(False))).scalar_one()
        by_status = dict(conn.execute(sa.select(b.status, sa.func.count()).group_by(b.status)).all())
    assert pending > 0 and found[("catalog_tracker_outbox_pending", ())] == pending
    # Nothing relayed: the oldest row waits since the batch (the tracker's clock stands at NOW).
    assert found[("catalog_tracker_outbox_oldest_pending_age_seconds", ())] == 0
    open_series = {labels: value for (name, labels), value in found.items()
                   if name == "catalog_tracker_open_obligations"}
    assert sum(v for labels, v in open_series.items() if ("status", "open") in labels) == by_status.get("open", 0)
    assert sum(open_series.values()) == by_status.get("open", 0) + by_status.get("overdue", 0)
    assert all(dict(labels)["kind"] == "catalog-update" for labels in open_series)
    provisional = found[("catalog_tracker_calendar_provisional_years", ())]
    assert provisional == len([n for n, _ in found if n == "catalog_tracker_calendar_provisional_year"])


def test_the_open_obligations_gauge_equals_the_api_total(world):
    context, _ = world
    _, _, text, _ = request(context, "/metrics")
    _, _, body, _ = request(context, "/api/obligations?status=open&limit=1")
    total = json.loads(body)["total"]
    assert total > 0
    assert sum(v for (name, labels), v in samples(text).items()
               if name == "catalog_tracker_open_obligations" and ("status", "open") in labels) == total


def test_the_oldest_outbox_row_ages_with_the_clock(world):
    context, _ = world
    context.clock.set(NOW.replace(minute=5))
    _, _, text, _ = request(context, "/metrics")
    assert samples(text)[("catalog_tracker_outbox_oldest_pending_age_seconds", ())] == 300


def test_metrics_follow_the_read_rules_and_the_probes_are_open(database_url):
    context, parts = build(database_url, read_token=READ_TOKEN)
    try:
        assert request(context, "/metrics")[0] == 401
        assert request(context, "/metrics", {"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert request(context, "/metrics", {"Authorization": f"Bearer {READ_TOKEN}"})[0] == 200
        assert request(context, "/api/health")[0] == 401  # as before: an /api/ read
        status, _, text, _ = request(context, "/healthz")
        assert status == 200 and '"alive"' in text
        status, _, text, _ = request(context, "/readyz")
        assert status == 200 and '"ready"' in text
        assert request(context, "/metrics", {"Host": "rebinding.example"})[0] == 421  # the Host check still holds
    finally:
        parts.engine.dispose()


def test_readyz_names_the_worker_parts_that_are_not_ready(world):
    context, _ = world
    state = {"relay_lease_holder": True, "partitions_assigned": 0,
             "scheduler": {"tick_seconds": 1.0, "late_seconds": 7.5}}
    context.worker_status = lambda: state
    status, _, text, _ = request(context, "/readyz")
    body = json.loads(text)
    assert status == 503 and body["failing"] == ["partitions", "tick"], body
    assert body["checks"]["database"] == "ok" and "no tick for 8 s" in body["checks"]["tick"]
    state.update(partitions_assigned=4, scheduler={"tick_seconds": 1.0, "late_seconds": None})
    status, _, text, _ = request(context, "/readyz")
    assert status == 200 and json.loads(text)["failing"] == []
    state["relay_lease_holder"] = False  # not the holder: its tick is not asked about
    state["scheduler"]["late_seconds"] = 99.0
    assert "tick" not in json.loads(request(context, "/readyz")[2])["checks"]


def test_readyz_names_a_broker_that_does_not_accept_connections(world):
    import socket

    context, _ = world
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once closed
    context.broker_servers = f"127.0.0.1:{port}"
    status, _, text, seconds = request(context, "/readyz")
    body = json.loads(text)
    assert status == 503 and body["failing"] == ["broker"] and body["checks"]["broker"].startswith("unreachable")
    assert seconds < WITHIN


def test_healthz_never_touches_the_database(tmp_path):
    """A database that refuses connections: liveness is fine, readiness and health say what is wrong."""
    context, parts = build(f"sqlite:///{tmp_path / 'gone.db'}")
    parts.engine.dispose()
    context.engine = sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none",
                                      connect_args={"connect_timeout": 2})
    assert request(context, "/healthz")[0] == 200
    status, _, text, _ = request(context, "/readyz")
    assert status == 503 and json.loads(text)["failing"] == ["database"], text
    status, _, text, _ = request(context, "/metrics")
    assert status == 200 and samples(text)[("catalog_tracker_database_answered", ())] == 0


# ---------------------------------------------------------------- real hangs

def assert_answers_in_time_naming_the_database(context):
    status, _, text, seconds = request(context, "/api/health")
    body = json.loads(text)
    assert status == 503 and body["status"] == "degraded" and body["database"] != "ok", body
    assert seconds < WITHIN, f"/api/health took {seconds:.2f} s"
    print(f"/api/health answered {status} in {seconds:.3f} s while the database hung: {body['database']}")
    status, _, text, seconds = request(context, "/readyz")
    assert status == 503 and json.loads(text)["failing"] == ["database"] and seconds < WITHIN, (text, seconds)
    status, _, text, seconds = request(context, "/metrics")
    assert status == 200 and seconds < WITHIN, seconds
    found = samples(text)
    assert found[("catalog_tracker_database_answered", ())] == 0
    assert ("catalog_tracker_outbox_pending", ()) not in found  # no stale figure when SQL did not answer
    assert request(context, "/healthz")[0] == 200
    return body


def test_health_answers_within_a_second_when_postgresql_hangs(postgres_url):
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy(url.host, url.port or 5432)
    context, parts = build(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    try:
        assert request(context, "/api/health")[0] == 200
        proxy.cut("stall")  # connections stay open and nothing comes back: a hang, not an error
        body = assert_answers_in_time_naming_the_database(context)
        assert body["not_answering"] == ["database"] and "did not answer within" in body["database"], body
        assert_answers_in_time_naming_the_database(context)  # again, while the first check still waits
        proxy.restore()
        wait_until(lambda: request(context, "/api/health")[0] == 200, 30, what="health ok after the hang")
    finally:
        proxy.restore()
        parts.engine.dispose()
        proxy.close()


def test_health_answers_within_a_second_when_sqlite_is_locked(sqlite_url):
    context, parts = build(sqlite_url)
    holder = sqlite3.connect(sa.engine.make_url(sqlite_url).database, isolation_level=None)
    try:
        assert request(context, "/api/health")[0] == 200
        parts.engine.dispose()  # the lock below needs no other connection open
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO leases SELECT * FROM leases WHERE 0")  # a write: the lock is held from here
        holder.execute("COMMIT")  # in exclusive locking mode the lock stays after the commit
        assert_answers_in_time_naming_the_database(context)
        holder.execute("PRAGMA locking_mode=NORMAL")
        holder.execute("SELECT 1 FROM leases LIMIT 1").fetchall()  # releases the lock (the mode applies on next use)
        holder.close()
        holder = None
        wait_until(lambda: request(context, "/api/health")[0] == 200, 30, what="health ok after the lock")
    finally:
        if holder is not None:
            holder.close()
        parts.engine.dispose()
