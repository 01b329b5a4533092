"""End to end for issue 4: each violation kind reaches ``catalog.notifications.violations`` exactly once.

Real broker, real ``catalog-tracker worker`` process, SQLite and PostgreSQL.
One scenario publishes, for each rule, an event that breaks it and one that
must not (the lawful twin), plus an event dated before the 2021 measures took
effect (unassessed: a dead letter and a row in ``GET /api/unassessed``) and a
duplicate of a triggering event. Time moves through the worker's file clock.

What is expected (articles, citations, department names) is read from the
shipped policy files and the department registry, the same files the worker
loads, so a policy change moves the expectation with it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from kafka import TopicPartition

from config.settings import CONFIG_DIR
from models.clock import parse_instant as at
from models.departments import load_registry
from models.events import CATALOG_UPDATED, DATA_OPENED, OBJECTION_RAISED, OBJECTION_RESOLVED, REGULATION_CHANGED
from models.policy import (CONTENT_RULES, DATA_OPENING, OVERDUE, SENSITIVE_DATA_OPENED, SHARE_SCOPE_NARROWED, Policy,
                           load_policies)
from models.sql import tables as t
from models.validation import build_cloudevent
from streams.broker import wait_until
from streams.topics import CATALOG_UPDATES as UPD
from streams.topics import DATA_ACTIVITIES as ACT
from streams.topics import DATA_OBJECTIONS as OBJ
from streams.topics import DEAD_LETTERS as DLQ
from streams.topics import OBLIGATIONS as OBL
from streams.topics import REGULATION_CHANGES as REG
from streams.topics import VIOLATIONS as VIO

pytestmark = [pytest.mark.broker, pytest.mark.slow]

LEGAL = "/yuhua/legal-affairs"
PLATFORM = "/yuhua/catalog-platform"
DATA_CENTER = "/yuhua/data-center"
JURISDICTION = "yuhua"
CATALOG_UPDATE = "catalog-update"
DATA_VERIFICATION = "data-verification"

# Who breaks which rule; each department appears in one role only, so a stray violation is attributable.
LATE_CATALOG = "jyj"          # R-late: 第十条 obligation, never answered
TIMELY_CATALOG = "mzj"        # R-timely: answered in time
LATE_VERIFICATION = "czj"     # OR-late: objection raised, never resolved
TIMELY_VERIFICATION = "sfj"   # OR-timely: resolved in time
NARROWED = "rsj"              # U-narrow: unconditional -> conditional, no approval_ref
NARROWED_APPROVED = "zrzyj"   # U-narrow-approved: the same with approval_ref
OPENED_RAW = "cgj"            # U-sensitive: personal info opened, not desensitized
OPENED_DESENSITIZED = "nyj"   # U-desensitized: the same, desensitized
BEFORE_POLICY = "swj"         # R-before: changed before the measures took effect

DAY = "2026-03-02"  # Monday; March 2026 has no holidays


# ---------------------------------------------------------------- events

def regulation(event_id: str, changed_on: str, department: str) -> dict:
    return build_cloudevent(REGULATION_CHANGED, LEGAL, {
        "regulation_id": f"reg-{event_id}", "title": f"《测试条例》修订 {event_id}", "change_kind": "amended",
        "changed_on": changed_on, "affected_departments": [department]}, id=event_id, subject=department)


def catalog_update(event_id: str, department: str, submitted_at: str, *, resolves: list[str] | None = None,
                   resources: list[dict] | None = None) -> dict:
    data: dict = {"department": department, "submitted_at": submitted_at, "catalog_version": f"v-{event_id}"}
    if resolves is not None:
        data["resolves"] = resolves
    if resources is not None:
        data["resources"] = resources
    return build_cloudevent(CATALOG_UPDATED, PLATFORM, data, id=event_id, subject=department)


def objection_raised(event_id: str, objection_id: str, department: str, raised_on: str) -> dict:
    return build_cloudevent(OBJECTION_RAISED, DATA_CENTER, {
        "objection_id": objection_id, "department": department, "resource_code": f"res-{objection_id}",
        "raised_on": raised_on, "raised_by": "sjzyzx"}, id=event_id, subject=department)


def objection_resolved(event_id: str, objection_id: str, department: str, resolved_at: str) -> dict:
    return build_cloudevent(OBJECTION_RESOLVED, DATA_CENTER, {
        "objection_id": objection_id, "department": department, "resource_code": f"res-{objection_id}",
        "resolved_at": resolved_at}, id=event_id, subject=department)


def narrowing(code: str, approval_ref: str | None = None) -> dict:
    resource = {"code": code, "name": "企业登记信息", "action": "modified",
                "previous_share_type": "unconditional", "share_type": "conditional",
                "previous_open_type": "none", "open_type": "none"}
    if approval_ref is not None:
        resource["approval_ref"] = approval_ref
    return resource


def personal_data_opened(code: str, desensitized: bool) -> dict:
    return {"code": code, "name": "低保对象名单", "action": "modified",
            "previous_share_type": "conditional", "share_type": "conditional",
            "previous_open_type": "none", "open_type": "conditional",
            "contains_personal_info": True, "desensitized": desensitized}


# ---------------------------------------------------------------- expectations

@dataclass(frozen=True)
class ExpectedViolation:
    rule: str
    department: str
    articles: tuple[str, ...]
    trigger_event_id: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What "exactly once" counts: one violation per rule, department and (first) article."""
        return (self.rule, self.department, self.articles[0])


def shipped_policy(day: date) -> Policy:
    policy = load_policies(CONFIG_DIR / "policies").policy_for(day, JURISDICTION)
    assert policy is not None, f"no shipped policy is in force on {day}"
    return policy


def expected_violations(policy: Policy) -> list[ExpectedViolation]:
    catalog = policy.obligations[CATALOG_UPDATE].overdue_citations
    verification = policy.obligations[DATA_VERIFICATION].overdue_citations
    # The issue's own requirements on the policy, so the expectations below cannot drift silently.
    assert "第二十五条（八）" in catalog and "第二十五条（八）" in verification
    assert policy.rules[SHARE_SCOPE_NARROWED].citations[0] == "第二十五条（一）"
    assert policy.rules[SENSITIVE_DATA_OPENED].citations[0] == "第二十条"
    assert set(CONTENT_RULES) <= set(policy.rules)
    return [
        ExpectedViolation(OVERDUE, LATE_CATALOG, catalog, "R-late"),
        ExpectedViolation(OVERDUE, LATE_VERIFICATION, verification, "OR-late"),
        ExpectedViolation(SHARE_SCOPE_NARROWED, NARROWED, policy.rules[SHARE_SCOPE_NARROWED].citations, "U-narrow"),
        ExpectedViolation(SENSITIVE_DATA_OPENED, OPENED_RAW, policy.rules[SENSITIVE_DATA_OPENED].citations,
                          "U-sensitive"),
        # Putting a resource on the open list also owes its opening (issue 12, 第二十条): cgj never opens its
        # undesensitized personal data (rightly), so that duty is overdue too; nyj opens its desensitized data.
        ExpectedViolation(OVERDUE, OPENED_RAW, policy.obligations[DATA_OPENING].overdue_citations, "U-sensitive"),
    ]


def violation_key(event: dict) -> tuple[str, str, str]:
    data = event["data"]
    return (data["rule"], data["department"], data["article"])


def of_type(events: list[dict], suffix: str) -> list[dict]:
    return [e for e in events if e["type"].endswith(suffix)]


# ---------------------------------------------------------------- draining

def outbox_pending(pipeline) -> int:
    return pipeline.sql(sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.sent.is_(False)))[0][0]


def read_to_high_water(pipeline, topic: str, timeout: float = 15.0) -> None:
    """Poll until the reader's position on every partition of ``topic`` reaches the high-water mark a fetch reported.

    Not ``end_offsets()``: the bundled broker answers ListOffsets wrongly after multi-record batches, while a
    fetch's high-water mark is right (DEVELOPERS.md).
    """
    output = pipeline.output
    consumer = output.consumer
    name = output.prefix + topic
    partitions = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name))]

    def caught_up() -> bool:
        output.poll()
        marks = [consumer.highwater(tp) for tp in partitions]
        return all(mark is not None and consumer.position(tp) >= mark for tp, mark in zip(partitions, marks))

    wait_until(caught_up, timeout, interval=0.02, what=f"the reader at the high-water mark of {topic}")


# ---------------------------------------------------------------- the test

def test_each_violation_kind_arrives_exactly_once_and_lawful_twins_raise_none(pipeline):
    policy = shipped_policy(date.fromisoformat(DAY))
    expected = expected_violations(policy)
    registry = load_registry(CONFIG_DIR / "departments.yaml")
    worker = pipeline.start_worker()
    publish, clock = pipeline.publisher, pipeline.clock

    # Monday 10:00: the triggers, the lawful twins of the content rules, and one event from before the measures.
    publish.send_event(REG, regulation("R-late", DAY, LATE_CATALOG))
    publish.send_event(REG, regulation("R-timely", DAY, TIMELY_CATALOG))
    publish.send_event(OBJ, objection_raised("OR-late", "obj-late", LATE_VERIFICATION, DAY))
    publish.send_event(OBJ, objection_raised("OR-late", "obj-late", LATE_VERIFICATION, DAY))  # duplicate at once
    publish.send_event(OBJ, objection_raised("OR-timely", "obj-timely", TIMELY_VERIFICATION, DAY))
    narrow = catalog_update("U-narrow", NARROWED, f"{DAY}T09:00:00+08:00", resources=[narrowing("qydj-01")])
    publish.send_event(UPD, narrow)
    publish.send_event(UPD, catalog_update("U-narrow-approved", NARROWED_APPROVED, f"{DAY}T09:00:00+08:00",
                                           resources=[narrowing("qydj-02", approval_ref="雨政办函〔2026〕3号")]))
    publish.send_event(UPD, catalog_update("U-sensitive", OPENED_RAW, f"{DAY}T09:05:00+08:00",
                                           resources=[personal_data_opened("dbmd-01", desensitized=False)]))
    publish.send_event(UPD, catalog_update("U-desensitized", OPENED_DESENSITIZED, f"{DAY}T09:05:00+08:00",
                                           resources=[personal_data_opened("dbmd-02", desensitized=True)]))
    # The day before 第二十七条's 2021-05-14: outside every shipped policy.
    publish.send_event(REG, regulation("R-before", "2021-05-13", BEFORE_POLICY))

    def opened_departments(o) -> set[str]:
        return {e["data"]["department"] for e in of_type(o.events(OBL), ".opened")}

    pipeline.wait_for(lambda o: opened_departments(o) >= {LATE_CATALOG, TIMELY_CATALOG, LATE_VERIFICATION,
                                                          TIMELY_VERIFICATION}
                      and {e["data"]["rule"] for e in o.events(VIO)} >= {SHARE_SCOPE_NARROWED, SENSITIVE_DATA_OPENED}
                      and o.events(DLQ),
                      what="four obligations, the two content violations and the unassessed dead letter")
    # The same catalog update again in a later batch (same source and id): processed once.
    publish.send_event(UPD, narrow)

    # Wednesday 16:00: the timely answers, well before either deadline.
    clock.set(at("2026-03-04T16:00:00"))
    publish.send_event(UPD, catalog_update("U-timely", TIMELY_CATALOG, "2026-03-04T15:00:00+08:00",
                                           resolves=["R-timely"]))
    publish.send_event(OBJ, objection_resolved("OS-timely", "obj-timely", TIMELY_VERIFICATION,
                                               "2026-03-04T15:30:00+08:00"))
    publish.send_event(ACT, build_cloudevent(DATA_OPENED, "/yuhua/open-platform", {
        "department": OPENED_DESENSITIZED, "resource_code": "dbmd-02", "opened_at": "2026-03-04T15:45:00+08:00",
        "channel": "municipal-platform"}, id="O-desensitized", subject=OPENED_DESENSITIZED))
    completed = pipeline.wait_for(
        lambda o: (done := {e["data"]["department"]: e["data"] for e in of_type(o.events(OBL), ".completed")})
        and set(done) >= {TIMELY_CATALOG, TIMELY_VERIFICATION, OPENED_DESENSITIZED} and done,
        what="the timely answers completed")
    assert all(completed[d]["on_time"] is True for d in (TIMELY_CATALOG, TIMELY_VERIFICATION, OPENED_DESENSITIZED))
    assert set(completed) == {TIMELY_CATALOG, TIMELY_VERIFICATION, OPENED_DESENSITIZED}

    # Past both deadlines (the 5-working-day verification and the 15-working-day 第十条 update).
    clock.set(at("2026-03-24T00:00:01"))
    expected_keys = {e.key for e in expected}
    pipeline.wait_for(lambda o: {violation_key(e) for e in o.events(VIO)} >= expected_keys,
                      what="every expected violation on the topic")
    clock.set(at("2026-03-25T09:00:00"))  # more ticks past the deadlines must not repeat anything

    # Drain: nothing left to relay, the reader at the high-water mark, then a few more empty polls.
    pipeline.wait_for(lambda o: outbox_pending(pipeline) == 0, what="an empty outbox")
    read_to_high_water(pipeline, VIO)
    pipeline.output.settle(10)

    violations = pipeline.output.events(VIO)
    counts = Counter(violation_key(e) for e in violations)
    assert counts == Counter(expected_keys), f"violations on the topic: {sorted(counts.items())}"
    cloud_ids = [e["id"] for e in violations]
    violation_ids = [e["data"]["violation_id"] for e in violations]
    assert len(set(cloud_ids)) == len(cloud_ids) and len(set(violation_ids)) == len(violation_ids)
    assert set(cloud_ids) == {row[0] for row in pipeline.sql(sa.select(t.violations.c.id))}

    by_key = {violation_key(e): e for e in violations}
    for want in expected:
        event = by_key[want.key]
        data = event["data"]
        assert event["type"] == "gov.catalog.violation.detected"
        assert data["articles"] == list(want.articles)
        assert data["trigger_event_id"] == want.trigger_event_id
        assert data["policy_id"] == policy.id
        explanation = data["explanation"]
        assert registry.label(want.department) in explanation, explanation
        assert registry.name_of(want.department) != want.department  # the label carries the Chinese name
        for article in want.articles:
            assert f"{article}“{policy.article_words(article).rstrip('；;。')}”" in explanation, explanation
        assert want.trigger_event_id in explanation, explanation
        assert policy.document_number in explanation, explanation
        if want.rule == OVERDUE:
            assert data["obligation_id"] and data["due_date"], data
        else:
            assert data["obligation_id"] is None, data

    # The event from before the measures: one dead letter saying why, and listed as unassessed by the API.
    letters = pipeline.output.events(DLQ)
    assert len(letters) == 1, [e["data"]["reason"] for e in letters]
    letter = letters[0]["data"]
    assert letter["event_id"] == "R-before" and letter["topic"] == pipeline.prefix + REG
    assert letter["reason"].startswith("unassessed") and "outside every policy" in letter["reason"]
    assert "2021-05-13" in letter["reason"]
    assert not [e for e in pipeline.output.events(OBL) if e["data"].get("department") == BEFORE_POLICY]
    status, body = worker.get("/api/unassessed")
    assert status == 200, body
    assert body["total"] == 1
    (unassessed,) = body["unassessed"]
    assert unassessed["event_id"] == "R-before" and unassessed["source"] == LEGAL
    assert unassessed["departments"] == [BEFORE_POLICY]
    assert unassessed["reason"] == letter["reason"]
