"""``catalog-tracker dead-letters`` on the real broker with real workers.

An event for a department the registry does not know yet is dead-lettered.
Redriving it before the registry is fixed dead-letters it again, counting the
redrive, and the limit then refuses it. Once the registry file has the
department and the worker is restarted, a redrive opens its obligation; a
second redrive of the same letter opens nothing more (the tracker's
deduplication on (source, id)).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from config.settings import CONFIG_DIR
from models.cloudevents import encode
from models.sql import tables as t
from models.validation import build_cloudevent
from streams.broker import wait_until
from streams.dead_letters import REDRIVE_COUNT_HEADER, REDRIVEN_FROM_HEADER
from streams.topics import DEAD_LETTERS, OBLIGATIONS, REGULATION_CHANGES
from tests.e2e.harness import REPO

pytestmark = [pytest.mark.broker, pytest.mark.slow]

NEW_CODE = "xqsjj"


def cli(pipeline, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", "dead-letters", *args], cwd=REPO, env=pipeline.env,
                          capture_output=True, text=True, timeout=120)


def listed(pipeline) -> list[dict]:
    result = cli(pipeline, "list", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def messages_read(worker) -> int:
    return worker.get("/api/health")[1]["worker"]["ingest"]["messages"]


def opened_for_new_department(output) -> list[dict]:
    return [e for e in output.events(OBLIGATIONS)
            if e["type"].endswith(".opened") and e["data"]["department"] == NEW_CODE]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the redrive touches no SQL of its own
def test_a_rejected_event_is_judged_once_after_the_registry_knows_its_department(pipeline, tmp_path):
    registry = tmp_path / "departments.yaml"
    shutil.copy(CONFIG_DIR / "departments.yaml", registry)
    pipeline.env["TRACKER_DEPARTMENTS_FILE"] = str(registry)
    worker = pipeline.start_worker()
    worker.wait_healthy()
    event = build_cloudevent("gov.catalog.regulation.changed", "/yuhua/legal-affairs", {
        "regulation_id": "reg-D1", "title": "《数据条例》修订", "change_kind": "amended", "changed_on": "2026-03-02",
        "affected_departments": [NEW_CODE]}, id="D1")
    pipeline.publisher.send_raw(REGULATION_CHANGES, encode(event), key=NEW_CODE, headers=[("content-type", b"application/cloudevents+json"),
                                                       ("traceparent", b"00-4bf92f3577b34da6-00f067aa0ba902b7-01")])
    pipeline.wait_for(lambda out: len(out.events(DEAD_LETTERS)) == 1, what="the dead letter")

    (first,) = listed(pipeline)
    assert first["event_id"] == "D1" and NEW_CODE in first["reason"] and first["redrive_count"] == 0
    table = cli(pipeline, "list", "--reason", "unknown department")
    assert table.returncode == 0 and "D1" in table.stdout and "1 of 1 dead letters chosen" in table.stderr
    dry = cli(pipeline, "redrive", "--dry-run")
    assert dry.returncode == 0 and "1 would be redriven; nothing sent" in dry.stdout

    # Redriven while the registry still lacks the department: rejected again, the redrive counted.
    result = cli(pipeline, "redrive", "--reason", "unknown department", "--max-redrives", "1")
    assert result.returncode == 0 and "redriven 1 dead letter to their topics" in result.stdout, result.stderr
    assert "redriven: 1/1" in result.stderr  # not a terminal: a plain count, no bar
    pipeline.wait_for(lambda out: len(out.events(DEAD_LETTERS)) == 2, what="the second dead letter")
    letters = {letter["id"]: letter for letter in listed(pipeline)}
    second = next(letter for letter in letters.values() if letter["id"] != first["id"])
    assert (second["redrive_count"], second["redriven_from"]) == (1, first["id"])
    assert letters[first["id"]]["superseded_by"] == second["id"]
    headers = {name: value for name, value in second["headers"]}
    assert "traceparent" in headers and "content-type" in headers  # the original headers went along
    assert {REDRIVE_COUNT_HEADER, REDRIVEN_FROM_HEADER} <= set(headers)
    assert second["value_base64"] == first["value_base64"] and second["key_base64"] == first["key_base64"]

    refused = cli(pipeline, "redrive", "--max-redrives", "1")
    assert refused.returncode == 0 and "nothing to redrive" in refused.stdout
    assert f"skipped {first['id']}: already redriven and rejected again as {second['id']}" in refused.stderr
    assert f"refused {second['id']}: redriven 1 time already, the limit is 1" in refused.stderr
    pipeline.output.settle()
    assert len(pipeline.output.events(DEAD_LETTERS)) == 2  # nothing was sent

    # The registry learns the department; the worker restarted reads it.
    assert worker.stop() == 0
    with registry.open("a", encoding="utf-8") as handle:
        handle.write(f"  - {{code: {NEW_CODE}, name: 区数据资源局（测试）, kind: department}}\n")
    worker = pipeline.start_worker()
    worker.wait_healthy()
    read_before = messages_read(worker)

    result = cli(pipeline, "redrive", "--reason", "unknown department")
    assert result.returncode == 0 and "redriven 1 dead letter to their topics" in result.stdout, result.stderr
    pipeline.wait_for(lambda out: len(opened_for_new_department(out)) == 1,
                      what=f"the obligation of {NEW_CODE} opened")
    wait_until(lambda: messages_read(worker) == read_before + 1, 30, what="the worker read the redriven event")

    again = cli(pipeline, "redrive", "--reason", "unknown department")
    assert again.returncode == 0 and "redriven 1 dead letter to their topics" in again.stdout, again.stderr
    wait_until(lambda: messages_read(worker) == read_before + 2, 30, what="the worker read the second redrive")
    pipeline.output.settle()
    obligations = pipeline.sql(sa.select(t.obligations.c.id, t.obligations.c.trigger_event_id)
                               .where(t.obligations.c.department == NEW_CODE))
    assert [row.trigger_event_id for row in obligations] == ["D1"]
    assert len(opened_for_new_department(pipeline.output)) == 1
    assert len(pipeline.output.events(DEAD_LETTERS)) == 2  # judged, then dropped as a duplicate: no new letter
