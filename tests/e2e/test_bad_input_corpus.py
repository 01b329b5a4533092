"""The bad-input corpus through the real broker and a real worker, on SQLite and PostgreSQL (issue 9).

Every bad input of ``tests/data/bad_inputs.py`` is sent, then one valid event
per kind; one pass then checks that each bad input gave exactly one dead letter
with its expected reason, its original bytes and headers, that the worker
stayed up, and that every valid event was processed. The table of kinds and
reasons the worker gave is printed and written to ``bad_input_reasons.md`` in
the test's temporary directory (and to ``$TRACKER_CORPUS_TABLE`` when set).
"""
from __future__ import annotations

import base64
import os
from collections import Counter
from pathlib import Path

import pytest

from streams.topics import DEAD_LETTERS as DLQ
from streams.topics import OBLIGATIONS as OBL
from streams.topics import REGULATION_CHANGES as REG
from tests.data.bad_inputs import MAX_BYTES, STRUCTURED, corpus, valid_after

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _b64(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode("ascii") if raw is not None else None


def test_every_bad_input_gives_one_dead_letter_and_the_worker_goes_on(pipeline, tmp_path):
    bad_inputs = corpus()
    worker = pipeline.start_worker(TRACKER_MAX_EVENT_BYTES=str(MAX_BYTES))
    for n, bad in enumerate(bad_inputs):
        pipeline.publisher.send_raw(bad.topic, bad.value, key=f"bad-{n}", headers=list(bad.headers))
    for n in range(len(bad_inputs)):
        pipeline.publisher.send_raw(REG, valid_after(n), key="jyj", headers=list(STRUCTURED))

    expected_ok = {f"ok-{n}" for n in range(len(bad_inputs))}
    pipeline.wait_for(lambda o: len(o.events(DLQ)) >= len(bad_inputs)
                      and expected_ok <= {e["data"]["trigger_event_id"] for e in o.events(OBL)},
                      timeout=120, what="a dead letter per bad input and an obligation per valid event")
    pipeline.output.settle()
    worker.check_alive()

    letters = pipeline.output.events(DLQ)
    assert len(letters) == len(bad_inputs), "exactly one dead letter each"
    by_key = Counter(e["data"]["key_base64"] for e in letters)
    assert all(count == 1 for count in by_key.values())
    letter_of = {base64.b64decode(e["data"]["key_base64"]).decode(): e["data"] for e in letters}
    rows, wrong = [], []
    for n, bad in enumerate(bad_inputs):
        letter = letter_of[f"bad-{n}"]
        rows.append((bad.kind, bad.stage, letter["reason"]))
        if bad.reason not in letter["reason"]:
            wrong.append((bad.kind, bad.reason, letter["reason"]))
        assert letter["value_base64"] == _b64(bad.value), bad.kind
        assert letter["headers"] == [[name, _b64(raw)] for name, raw in bad.headers], bad.kind
        assert letter["topic"] == pipeline.prefix + bad.topic
    assert wrong == []

    opened = Counter(e["data"]["trigger_event_id"] for e in pipeline.output.events(OBL)
                     if e["type"].endswith(".opened"))
    assert {trigger: opened[trigger] for trigger in expected_ok} == {trigger: 1 for trigger in expected_ok}
    status, health = worker.get("/api/health")
    parser_refused = sum(bad.stage == "parser" for bad in bad_inputs)  # the others parse; the tracker refuses them
    assert status == 200 and health["worker"]["ingest"]["rejected"] == parser_refused, health

    table = "\n".join(["| kind | refused by | reason |", "|---|---|---|"]
                      + [f"| {kind} | {stage} | {reason.replace('|', '/')} |" for kind, stage, reason in rows])
    (tmp_path / "bad_input_reasons.md").write_text(table + "\n", encoding="utf-8")
    if os.environ.get("TRACKER_CORPUS_TABLE"):
        Path(os.environ["TRACKER_CORPUS_TABLE"]).write_text(table + "\n", encoding="utf-8")
    print(f"\n{len(rows)} bad inputs, one dead letter each:\n{table}")
