"""End to end: real broker, real ``catalog-tracker worker`` process, SQLite and PostgreSQL.

Events are published with kafka-python; the assertions read the output
topics from the beginning and the database. Time moves through the worker's
file clock (``TRACKER_CLOCK=file:...``); every wait polls a condition.

Calendar used below (2026, no holidays in March): R1 changed on Mon 03-02
is due Mon 03-23 (15 working days); 5 working days are left on 03-16, 3 on
03-18, 1 on 03-20, 0 on the due day; it is overdue from 03-24 00:00.
"""
from __future__ import annotations

import base64
import json
from collections import Counter

import pytest
import sqlalchemy as sa

from models.clock import parse_instant as at
from models.cloudevents import encode as encode_cloudevent
from models.events import CATALOG_UPDATED, REGULATION_CHANGED
from models.sql import tables as t
from models.validation import build_cloudevent
from streams.topics import CATALOG_UPDATES as UPD
from streams.topics import DEAD_LETTERS as DLQ
from streams.topics import OBLIGATIONS as OBL
from streams.topics import REGULATION_CHANGES as REG
from streams.topics import REMINDERS as REM
from streams.topics import VIOLATIONS as VIO

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SOURCE = "/yuhua/legal-affairs"


def regulation(event_id: str, changed_on: str, *departments: str) -> dict:
    return build_cloudevent(REGULATION_CHANGED, SOURCE, {
        "regulation_id": f"reg-{event_id}", "title": f"《测试条例》修订 {event_id}", "change_kind": "amended",
        "changed_on": changed_on, "affected_departments": list(departments)}, id=event_id, subject=departments[0])


def catalog_update(event_id: str, department: str, submitted_at: str, resolves: list[str] | None = None) -> dict:
    data = {"department": department, "submitted_at": submitted_at, "catalog_version": f"v-{event_id}"}
    if resolves is not None:
        data["resolves"] = resolves
    return build_cloudevent(CATALOG_UPDATED, "/yuhua/catalog-platform", data, id=event_id, subject=department)


def of_type(events: list[dict], suffix: str) -> list[dict]:
    return [e for e in events if e["type"].endswith(suffix)]


def by_trigger(events: list[dict], trigger: str) -> list[dict]:
    return [e for e in events if e["data"].get("trigger_event_id") == trigger]


def ids(events: list[dict]) -> list[str]:
    return [e["id"] for e in events]


def test_events_in_obligations_out_and_bad_input_dead_lettered(pipeline):
    worker = pipeline.start_worker(TRACKER_MAX_EVENT_BYTES="4096")
    publish = pipeline.publisher

    publish.send_event(REG, regulation("R1", "2026-03-02", "jyj", "mzj"), key="jyj")
    opened = pipeline.wait_for(lambda o: len(of_type(o.events(OBL), ".opened")) >= 2 and o.events(OBL),
                               what="two obligations opened")
    opened = of_type(pipeline.output.events(OBL), ".opened")
    assert sorted(e["data"]["department"] for e in opened) == ["jyj", "mzj"]
    assert {e["data"]["due_date"] for e in opened} == {"2026-03-23"}
    assert all(e["data"]["article"] == "第十条" for e in opened)
    # Outputs are keyed by department, so one department's changes stay in order.
    keys = {r.key for r in pipeline.output.records[OBL]}
    assert keys == {b"jyj", b"mzj"}

    # A duplicate (same source and id) changes nothing.
    publish.send_event(REG, regulation("R1", "2026-03-02", "jyj", "mzj"), key="jyj")
    # On time (jyj) and late (mzj).
    publish.send_event(UPD, catalog_update("U1", "jyj", "2026-03-10T15:00:00+08:00", ["R1"]), key="jyj")
    publish.send_event(UPD, catalog_update("U2", "mzj", "2026-03-25T10:00:00+08:00", ["R1"]), key="mzj")
    # Out of order: the update for R2 arrives before R2 itself.
    publish.send_event(UPD, catalog_update("U3", "czj", "2026-03-12T09:00:00+08:00", ["R2"]), key="czj")
    publish.send_event(REG, regulation("R2", "2026-03-03", "czj"), key="czj")

    pipeline.wait_for(lambda o: len(of_type(o.events(OBL), ".completed")) >= 3, what="three completions")
    completed = {e["data"]["department"]: e["data"] for e in of_type(pipeline.output.events(OBL), ".completed")}
    assert completed["jyj"]["on_time"] is True
    assert completed["mzj"]["on_time"] is False
    assert completed["czj"]["on_time"] is True and completed["czj"]["trigger_event_id"] == "R2"

    # Every kind of bad input: one dead letter each, with the reason and the original bytes.
    valid = encode_cloudevent(regulation("R9", "2026-03-02", "jyj"))
    bad_inputs = {
        b"this is not json": "not JSON",
        b"[1, 2, 3]": "not a CloudEvent",
        valid.replace(REGULATION_CHANGED.encode(), b"gov.catalog.unknown.happened"): "unknown type",
        valid.replace(b'"title"', b'"titel"'): "title",
        valid.replace(b'"change_kind":"amended"', b'"change_kind":42'): "change_kind",
        valid.replace(b"2026-03-02", b"2026-02-30"): "2026-02-30",
        encode_cloudevent(regulation("R10", "2026-03-02", "no-such-dept")): "unknown department",
        encode_cloudevent(regulation("R11", "2026-03-02", "jyj") | {"pad": "x" * 5000}): "oversized",
    }
    for i, value in enumerate(bad_inputs):
        publish.send_raw(REG, value, key=f"bad-{i}")
    publish.send_raw(REG, None, key="tombstone")
    # The worker keeps going: a good event after the bad ones is processed.
    publish.send_event(REG, regulation("R3", "2026-03-02", "sfj"), key="sfj")
    # Binary mode: attributes in ce_* headers, the value is the data.
    binary = regulation("R4", "2026-03-02", "rsj")
    publish.send_raw(REG, json.dumps(binary["data"]).encode(), key="rsj", headers=[
        ("ce_specversion", b"1.0"), ("ce_id", b"R4"), ("ce_source", SOURCE.encode()),
        ("ce_type", REGULATION_CHANGED.encode()), ("ce_time", binary["time"].encode()),
        ("content-type", b"application/json")])
    pipeline.wait_for(lambda o: len(o.events(DLQ)) >= len(bad_inputs) + 1
                      and {"sfj", "rsj"} <= {e["data"]["department"] for e in of_type(o.events(OBL), ".opened")},
                      what="dead letters and the good events after them")
    pipeline.output.settle()
    letters = pipeline.output.events(DLQ)
    assert len(letters) == len(bad_inputs) + 1 and len(set(ids(letters))) == len(letters)
    by_value = {base64.b64decode(e["data"]["value_base64"]) if e["data"]["value_base64"] else None: e
                for e in letters}
    for value, reason_part in bad_inputs.items():
        letter = by_value[value]
        assert letter["type"] == "gov.catalog.event.rejected"
        assert reason_part in letter["data"]["reason"], letter["data"]["reason"]
        assert letter["data"]["topic"] == pipeline.prefix + REG
    assert None in by_value and by_value[None]["data"]["reason"]

    # Nothing else was touched by the bad inputs; the duplicate was processed once.
    opened = of_type(pipeline.output.events(OBL), ".opened")
    assert Counter(e["data"]["trigger_event_id"] for e in opened) == {"R1": 2, "R2": 1, "R3": 1, "R4": 1}
    rows = pipeline.sql(sa.select(t.obligations.c.department, t.obligations.c.status, t.obligations.c.on_time))
    assert sorted(map(tuple, rows)) == sorted([("jyj", "completed", True), ("mzj", "completed", False),
                                               ("czj", "completed", True), ("sfj", "open", None),
                                               ("rsj", "open", None)])

    # The API reads the same state.
    worker.wait_healthy()
    status, body = worker.get("/api/obligations?department=sfj&status=open")
    assert status == 200, body
    items = body["obligations"]
    assert body["total"] == 1
    assert [item["department"] for item in items] == ["sfj"]
    assert items[0]["due_date"] == "2026-03-23"
    status, detail = worker.get(f"/api/obligations/{items[0]['id']}")
    assert status == 200 and detail["id"] == items[0]["id"]
    assert worker.get("/api/obligations/no-such-obligation")[0] == 404
    status, error = worker.get("/api/obligations?status=forgotten")
    assert status == 400 and "status" in error["error"]


def test_reminders_and_violations_follow_the_clock_once_each(pipeline):
    pipeline.start_worker()
    publish, clock = pipeline.publisher, pipeline.clock

    publish.send_event(REG, regulation("R1", "2026-03-02", "jyj"), key="jyj")
    pipeline.wait_for(lambda o: of_type(o.events(OBL), ".opened"), what="R1 opened")
    assert pipeline.output.events(REM) == []

    clock.set(at("2026-03-16T09:00:01"))
    pipeline.wait_for(lambda o: o.events(REM), what="the 5-days-left reminder")
    clock.set(at("2026-03-16T15:00:00"))  # later the same day: nothing new
    clock.set(at("2026-03-18T09:30:00"))
    pipeline.wait_for(lambda o: len(o.events(REM)) >= 2, what="the 3-days-left reminder")
    r1 = by_trigger(pipeline.output.events(REM), "R1")
    assert [(e["data"]["stage"], e["data"]["working_days_left"]) for e in r1] == [(5, 5), (3, 3)]

    # Arrives late: changed on Fri 02-27 (Sat 02-28 is a make-up working day), due Thu 03-19, 1 working day
    # left on 03-18: only the latest stage due (1), no burst of the stale 5 and 3.
    publish.send_event(REG, regulation("R2", "2026-02-27", "mzj"), key="mzj")
    pipeline.wait_for(lambda o: by_trigger(o.events(REM), "R2"), what="R2's reminder")
    # Already overdue when it arrives (due 2026-02-24): a violation at once.
    publish.send_event(REG, regulation("R3", "2026-02-02", "czj"), key="czj")
    pipeline.wait_for(lambda o: by_trigger(o.events(VIO), "R3"), what="R3's immediate violation")

    clock.set(at("2026-03-24T00:00:01"))
    pipeline.wait_for(lambda o: by_trigger(o.events(VIO), "R1") and by_trigger(o.events(VIO), "R2"),
                      what="violations for R1 and R2")
    clock.set(at("2026-03-25T09:00:00"))  # more ticks past the deadline must not repeat anything
    pipeline.wait_for(lambda o: pipeline.sql(sa.select(sa.func.count()).select_from(t.outbox)
                                             .where(t.outbox.c.sent.is_(False)))[0][0] == 0,
                      what="an empty outbox")
    pipeline.output.settle(10)

    reminders = pipeline.output.events(REM)
    assert [(e["data"]["stage"], e["data"]["working_days_left"]) for e in by_trigger(reminders, "R2")] == [(1, 1)]
    assert len(set(ids(reminders))) == len(reminders)
    violations = pipeline.output.events(VIO)
    assert Counter(e["data"]["trigger_event_id"] for e in violations) == {"R1": 1, "R2": 1, "R3": 1}
    r1_violation = by_trigger(violations, "R1")[0]["data"]
    assert r1_violation["rule"] == "overdue"
    assert "第二十五条（八）" in (r1_violation["article"], *r1_violation.get("articles", []))
    assert "2026-03-23" in r1_violation["explanation"] and "2026-03-02" in r1_violation["explanation"]


def _outbox_pending(pipeline) -> int:
    return pipeline.sql(sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.sent.is_(False)))[0][0]


def _assert_topics_match_database(pipeline) -> None:
    """Every reminder and violation in SQL is on its topic exactly once, and nothing else is."""
    pipeline.wait_for(lambda o: _outbox_pending(pipeline) == 0, timeout=60, what="an empty outbox")
    expected_reminders = {row[0] for row in pipeline.sql(sa.select(t.reminders.c.id))}
    expected_violations = {row[0] for row in pipeline.sql(sa.select(t.violations.c.id))}
    pipeline.wait_for(lambda o: {e["id"] for e in o.events(REM)} >= expected_reminders
                      and {e["id"] for e in o.events(VIO)} >= expected_violations, timeout=60,
                      what="every stored reminder and violation on the topics")
    pipeline.output.settle(10)
    for topic, expected in ((REM, expected_reminders), (VIO, expected_violations)):
        sent = ids(pipeline.output.events(topic))
        duplicated = [i for i, n in Counter(sent).items() if n > 1]
        assert duplicated == [], f"sent twice on {topic}: {duplicated[:5]}"
        assert set(sent) == expected
    obligations = ids(pipeline.output.events(OBL))
    assert len(obligations) == len(set(obligations))


DEPARTMENTS = ["jyj", "mzj", "sfj", "czj", "rsj", "zrzyj", "zjj", "cgj", "nyj", "swj"]


def _publish_many(pipeline, count: int, tag: str) -> None:
    for i in range(count):
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        changed_on = f"2026-03-{2 + i % 5:02d}"
        pipeline.publisher.send_event(REG, regulation(f"{tag}{i}", changed_on, department), key=department)


def test_kill_9_and_restart_loses_and_duplicates_nothing(pipeline):
    first = pipeline.start_worker(api=False)
    _publish_many(pipeline, 60, "K")
    pipeline.wait_for(lambda o: len(o.events(OBL)) >= 60, timeout=60, what="60 obligations opened")

    # Many reminders and violations become due at once; kill -9 while they are being sent.
    pipeline.clock.set(at("2026-03-16T09:00:00"))
    pipeline.wait_for(lambda o: o.events(REM), what="the first reminders")
    first.kill()
    _publish_many(pipeline, 20, "L")  # arrives while no worker runs

    pipeline.start_worker(api=False)
    pipeline.wait_for(lambda o: len(o.events(OBL)) >= 80, timeout=60, what="80 obligations opened")
    pipeline.clock.set(at("2026-03-31T09:00:00"))
    stored = lambda: pipeline.sql(sa.select(sa.func.count()).select_from(t.violations))[0][0]  # noqa: E731
    pipeline.wait_for(lambda o: stored() >= 80, timeout=60, what="a violation for every obligation")
    _assert_topics_match_database(pipeline)
    assert len(pipeline.output.events(VIO)) == 80


def test_two_workers_at_once_never_double_send(pipeline):
    one = pipeline.start_worker()
    two = pipeline.start_worker()  # started together: they also race to migrate the empty database
    one.wait_healthy()
    two.wait_healthy()
    _publish_many(pipeline, 50, "W")
    pipeline.wait_for(lambda o: len(o.events(OBL)) >= 50, timeout=60, what="50 obligations opened")
    pipeline.clock.set(at("2026-03-16T09:00:00"))
    pipeline.clock.set(at("2026-03-18T09:00:00"))
    pipeline.clock.set(at("2026-03-31T09:00:00"))
    stored = lambda: pipeline.sql(sa.select(sa.func.count()).select_from(t.violations))[0][0]  # noqa: E731
    pipeline.wait_for(lambda o: stored() >= 50, timeout=60, what="a violation for every obligation")
    _assert_topics_match_database(pipeline)
    holders = [w.get("/api/health")[1]["worker"]["relay_lease_holder"] for w in (one, two)]
    assert sorted(holders) == [False, True]
