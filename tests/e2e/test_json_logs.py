"""``TRACKER_LOG_FORMAT=json``: a real worker's whole log is one JSON object a line, Faust's and aiokafka's too."""
from __future__ import annotations

import json

import pytest

from models.validation import build_cloudevent
from streams.topics import DEAD_LETTERS, REGULATION_CHANGES

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # logging touches no SQL
def test_every_line_of_the_worker_log_is_a_json_object(pipeline):
    worker = pipeline.start_worker(TRACKER_LOG_FORMAT="json")
    worker.wait_healthy()
    unknown = build_cloudevent("gov.catalog.regulation.changed", "/yuhua/legal-affairs", {
        "regulation_id": "reg-J1", "title": "《测试条例》修订", "change_kind": "amended", "changed_on": "2026-03-02",
        "affected_departments": ["no-such-department"]}, id="J1")
    pipeline.publisher.send_event(REGULATION_CHANGES, unknown)
    pipeline.publisher.send_raw(REGULATION_CHANGES, b"{not json", key="jyj")
    pipeline.wait_for(lambda out: len(out.events(DEAD_LETTERS)) == 2, what="two dead letters")
    assert worker.stop() == 0

    lines = [line for line in worker.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"line {number} of the worker's log is not JSON: {line!r}")
    assert all(isinstance(r, dict) and {"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(r["time"].endswith("+08:00") for r in records)
    loggers = {r["logger"] for r in records}
    assert any(name.startswith("faust") for name in loggers), sorted(loggers)
    assert any(name.startswith("aiokafka") for name in loggers), sorted(loggers)
    assert "streams.worker" in loggers and "streams.leader" in loggers  # the tracker's own

    dead = {r["reason"][:20]: r for r in records if r["logger"] == "streams.ingest" and "reason" in r}
    rejected = next(r for r in dead.values() if r.get("event_id") == "J1")
    assert rejected["topic"] == pipeline.prefix + REGULATION_CHANGES and rejected["level"] == "INFO"
    assert isinstance(rejected["partition"], int) and isinstance(rejected["offset"], int)
    assert "no-such-department" in rejected["reason"] and "exception" not in rejected
    unparsed = next(r for r in dead.values() if r.get("event_id") is None)
    assert unparsed["topic"] == rejected["topic"] and "not JSON" in unparsed["reason"]
