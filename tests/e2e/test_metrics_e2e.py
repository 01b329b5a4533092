"""End to end: a real broker and worker; GET /metrics counts what was sent, /readyz says ready, the probe command.

Six inputs on the regulation-changes topic: three valid events, the first of them again (a duplicate), one
that no policy covers (unassessed) and one that is not JSON (dead-lettered). The scrape's consumed counters by
outcome must be exactly those, and its open-obligations gauge the API's total.
"""
from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cli.main import main as cli_main
from models.events import REGULATION_CHANGED
from models.validation import build_cloudevent
from streams.broker import wait_until
from streams.topics import OBLIGATIONS as OBL
from streams.topics import REGULATION_CHANGES as REG

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def regulation(event_id: str, changed_on: str, department: str) -> dict:
    return build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
        "regulation_id": f"reg-{event_id}", "title": f"《测试条例》修订 {event_id}", "change_kind": "amended",
        "changed_on": changed_on, "affected_departments": [department]}, id=event_id, subject=department)


def scrape(worker) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(worker.base_url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode("utf-8")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(found, name: str, **labels: str) -> float:
    return sum(value for (n, sample_labels), value in found.items()
               if n == name and set(labels.items()) <= set(sample_labels))


def test_metrics_count_what_was_sent_and_the_probes_answer(pipeline):
    worker = pipeline.start_worker()
    publish = pipeline.publisher
    for event_id, department in (("M1", "jyj"), ("M2", "mzj"), ("M3", "czj")):
        publish.send_event(REG, regulation(event_id, "2026-03-02", department), key=department)
    publish.send_event(REG, regulation("M1", "2026-03-02", "jyj"), key="jyj")  # the same event again
    publish.send_event(REG, regulation("M4", "2003-03-03", "jyj"), key="jyj")  # before every policy in force
    publish.send_raw(REG, b"this is not json", key="bad")
    worker.wait_healthy()
    topic = pipeline.prefix + REG
    wait_until(lambda: total(scrape(worker), "catalog_tracker_events_consumed_total", topic=topic) >= 6, 60,
               what="six inputs counted")
    pipeline.wait_for(lambda o: len(o.events(OBL)) >= 3, what="three obligations opened")
    wait_until(lambda: scrape(worker)[("catalog_tracker_outbox_pending", ())] == 0, 30, what="the outbox relayed")
    found = scrape(worker)

    by_outcome = {outcome: total(found, "catalog_tracker_events_consumed_total", topic=topic, outcome=outcome)
                  for outcome in ("accepted", "duplicate", "dead-lettered", "unassessed")}
    print("consumed by outcome:", by_outcome)
    assert by_outcome == {"accepted": 3, "duplicate": 1, "dead-lettered": 1, "unassessed": 1}
    assert total(found, "catalog_tracker_events_consumed_total") == 6  # nothing on other topics
    status, body = worker.get("/api/obligations?status=open&limit=1")
    assert status == 200 and body["total"] == 3
    assert total(found, "catalog_tracker_open_obligations", status="open") == body["total"]
    assert found[("catalog_tracker_batch_apply_duration_seconds_count", ())] >= 1
    sent = total(found, "catalog_tracker_relay_sent_total")
    assert sent >= 3 + 2  # three opened obligations, two dead letters (unassessed and not JSON), at least
    assert total(found, "catalog_tracker_relay_sent_total", topic=OBL) == 3
    assert found[("catalog_tracker_tick_duration_seconds_count", ())] >= 1
    assert found[("catalog_tracker_database_answered", ())] == 1
    lags = {labels: value for (name, labels), value in found.items() if name == "catalog_tracker_consumer_lag_messages"}
    assert lags and all(value == 0 for labels, value in lags.items() if ("topic", topic) in labels), lags

    wait_until(lambda: worker.get("/readyz")[0] == 200, 30, what="the worker ready")
    status, body = worker.get("/readyz")
    assert body["checks"] == {"database": "ok", "broker": "ok", "partitions": "ok", "tick": "ok"}, body
    assert worker.get("/healthz") == (200, {"status": "alive"})
    assert cli_main(["probe", "--url", worker.base_url]) == 0
    assert cli_main(["probe", "live", "--url", worker.base_url]) == 0
    assert cli_main(["probe", "--url", "http://127.0.0.1:9", "--timeout", "1"]) == 1
