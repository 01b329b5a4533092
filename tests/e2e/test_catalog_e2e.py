"""End to end for issue 12: each new violation kind reaches ``catalog.notifications.violations`` exactly once.

Real broker, real ``catalog-tracker worker`` process, SQLite and PostgreSQL. Each department plays one role,
beside a lawful twin that must raise nothing:

- a monthly resource whose April is never aggregated (overdue, data-aggregation, 第二十五条（二）); its twin
  aggregates April before April's obligation even exists;
- a resource put on the open list and never opened (overdue, data-opening, 第二十五条（八）); its twin opens it;
- a share channel that is not the municipal platform (unauthorised-channel, 第十四条); its twin uses the platform;
- opening a resource the register classes 不予开放 (closed-data-opened, 第十九条), sent twice; its twin's
  opening arrives before the catalog update that puts its resource on the open list: held, then lawful;
- narrowing unconditional sharing with no ``previous_share_type`` (found from the register); its twin's
  ``previous_share_type`` claims unconditional where the register holds conditional;
- an aggregation for a resource no catalog lists (listed as unmatched by the API after the policy's wait);
- bad input of the new types: each one dead letter with its reason.

Time moves through the worker's file clock from Monday 2 March 2026 to after April's deadline.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from calendars import load_calendar
from config.settings import CONFIG_DIR
from models.clock import SHANGHAI
from models.cloudevents import encode
from models.events import CATALOG_UPDATED, DATA_AGGREGATED, DATA_OPENED
from models.policy import DATA_AGGREGATION, DATA_OPENING, load_policies
from models.validation import build_cloudevent
from streams.topics import CATALOG_UPDATES as UPD
from streams.topics import DATA_ACTIVITIES as ACT
from streams.topics import DEAD_LETTERS as DLQ
from streams.topics import OBLIGATIONS as OBL
from streams.topics import VIOLATIONS as VIO
from tests.e2e.test_rules_e2e import outbox_pending, read_to_high_water

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PLATFORM, AGGREGATION, OPEN_PLATFORM = "/yuhua/catalog-platform", "/yuhua/data-governance", "/yuhua/open-platform"
MUNICIPAL = "municipal-platform"

MISSED_PERIOD, EARLY_PERIOD = "tjj", "tyjrj"
NEVER_OPENED, OPENED = "wlj", "yjj"
OWN_CHANNEL, PLATFORM_CHANNEL = "sjj", "kgxxhj"
CLOSED_OPENED, OPENED_BEFORE_REGISTERED = "gafj", "xfj"
NARROWED, NARROWED_CLAIM = "zfb", "ds"
UNMATCHED = "lt"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def update(event_id: str, department: str, submitted_at: str, *resources: dict) -> dict:
    return build_cloudevent(CATALOG_UPDATED, PLATFORM, {
        "department": department, "submitted_at": submitted_at, "catalog_version": f"v-{event_id}",
        "resources": list(resources)}, id=event_id, subject=department)


def resource(code: str, **attributes) -> dict:
    return {"code": code, "name": f"资源{code}", "action": "added", "share_type": "conditional",
            "share_channel": MUNICIPAL, "open_type": "none", "update_cycle": "irregular", **attributes}


def aggregated(event_id: str, department: str, code: str, period: str, when: str) -> dict:
    return build_cloudevent(DATA_AGGREGATED, AGGREGATION, {"department": department, "resource_code": code,
                                                           "period": period, "aggregated_at": when},
                            id=event_id, subject=department)


def opened(event_id: str, department: str, code: str, when: str, channel: str = MUNICIPAL) -> dict:
    return build_cloudevent(DATA_OPENED, OPEN_PLATFORM, {"department": department, "resource_code": code,
                                                         "opened_at": when, "channel": channel},
                            id=event_id, subject=department)


def key(event: dict) -> tuple:
    data = event["data"]
    return (data["rule"], data["department"], data["obligation"])


def test_each_new_violation_kind_arrives_exactly_once_and_the_twins_raise_none(pipeline):
    policy = load_policies(CONFIG_DIR / "policies").policy_for(date(2026, 3, 2), "yuhua")
    calendar = load_calendar()
    worker = pipeline.start_worker()
    worker.wait_healthy(90)
    publish, clock = pipeline.publisher, pipeline.clock

    # An opening that arrives before its resource is registered: held, never judged against a missing entry.
    publish.send_event(ACT, opened("O-early", OPENED_BEFORE_REGISTERED, "XF-1", "2026-03-02T09:30:00+08:00"))
    pipeline.wait_for(lambda o: worker.get(f"/api/departments/{OPENED_BEFORE_REGISTERED}/resources/XF-1")[0] == 200,
                      what="the early opening held")

    # Monday 2 March: the registers.
    publish.send_event(UPD, update("U-missed", MISSED_PERIOD, "2026-03-02T09:00:00+08:00",
                                   resource("TJ-1", update_cycle="monthly")))
    publish.send_event(UPD, update("U-early", EARLY_PERIOD, "2026-03-02T09:00:00+08:00",
                                   resource("TY-1", update_cycle="monthly")))
    publish.send_event(UPD, update("U-never", NEVER_OPENED, "2026-03-02T09:00:00+08:00",
                                   resource("WL-1", open_type="conditional", open_channel=MUNICIPAL)))
    publish.send_event(UPD, update("U-opened", OPENED, "2026-03-02T09:00:00+08:00",
                                   resource("YJ-1", open_type="unconditional", open_channel=MUNICIPAL)))
    publish.send_event(UPD, update("U-own", OWN_CHANNEL, "2026-03-02T09:00:00+08:00",
                                   resource("SJ-1", share_channel="审计局自建交换系统")))
    publish.send_event(UPD, update("U-platform", PLATFORM_CHANNEL, "2026-03-02T09:00:00+08:00", resource("KG-1")))
    publish.send_event(UPD, update("U-closed", CLOSED_OPENED, "2026-03-02T09:00:00+08:00", resource("GA-1")))
    publish.send_event(UPD, update("U-late-reg", OPENED_BEFORE_REGISTERED, "2026-03-02T09:00:00+08:00",
                                   resource("XF-1", open_type="conditional", open_channel=MUNICIPAL)))
    publish.send_event(UPD, update("U-narrow-0", NARROWED, "2026-03-02T09:00:00+08:00",
                                   resource("ZF-1", share_type="unconditional")))
    publish.send_event(UPD, update("U-claim-0", NARROWED_CLAIM, "2026-03-02T09:00:00+08:00", resource("DS-1")))
    pipeline.wait_for(lambda o: {e["data"]["department"] for e in o.events(OBL) if e["type"].endswith(".opened")}
                      >= {NEVER_OPENED, OPENED, OPENED_BEFORE_REGISTERED}, what="the three opening duties")

    # Tuesday 3 March: what the departments did.
    clock.set(at("2026-03-03T12:00:00"))
    publish.send_event(UPD, update("U-narrow", NARROWED, "2026-03-03T10:00:00+08:00",
                                   {"code": "ZF-1", "action": "modified", "share_type": "conditional"}))
    publish.send_event(UPD, update("U-claim", NARROWED_CLAIM, "2026-03-03T10:00:00+08:00",
                                   {"code": "DS-1", "action": "modified", "share_type": "none",
                                    "previous_share_type": "unconditional"}))
    publish.send_event(ACT, opened("O-yes", OPENED, "YJ-1", "2026-03-03T10:00:00+08:00"))
    closed = opened("O-closed", CLOSED_OPENED, "GA-1", "2026-03-03T10:00:00+08:00")
    publish.send_event(ACT, closed)
    publish.send_event(ACT, closed)  # a duplicate: processed once
    publish.send_event(ACT, aggregated("A-nowhere", UNMATCHED, "LT-404", "2026-02", "2026-03-03T10:00:00+08:00"))
    # Bad input of the new types: an impossible period, a period of the wrong cycle, an opening with no channel.
    bad_period = aggregated("A-bad-period", MISSED_PERIOD, "TJ-1", "2026-03", "2026-03-03T10:00:00+08:00")
    bad_period["data"]["period"] = "2026-13"  # the harness's publisher sends it as it is (no validation)
    publish.send_event(ACT, bad_period)
    publish.send_event(ACT, aggregated("A-wrong-cycle", MISSED_PERIOD, "TJ-1", "2026-W10",
                                       "2026-03-03T10:00:00+08:00"))
    no_channel = opened("O-no-channel", OPENED, "YJ-1", "2026-03-03T10:00:00+08:00")
    del no_channel["data"]["channel"]
    publish.send_raw(ACT, encode(no_channel), key=OPENED)
    pipeline.wait_for(lambda o: len(o.events(DLQ)) >= 3 and {e["data"]["rule"] for e in o.events(VIO)}
                      >= {"unauthorised-channel", "closed-data-opened", "share-scope-narrowed"},
                      what="the three dead letters and the violations found at once")

    # Past the opening deadline (2 March + 10 working days = Monday 16 March).
    clock.set(at("2026-03-17T00:00:01"))
    pipeline.wait_for(lambda o: (NEVER_OPENED, DATA_OPENING) in {(e["data"]["department"], e["data"]["obligation"])
                                                                  for e in o.events(VIO)}, what="the missed opening")

    # April's data of the twin, before April's obligation exists; then April begins.
    clock.set(at("2026-03-31T22:00:00"))
    publish.send_event(ACT, aggregated("A-early", EARLY_PERIOD, "TY-1", "2026-04", "2026-03-31T21:00:00+08:00"))
    pipeline.wait_for(lambda o: worker.get(f"/api/departments/{EARLY_PERIOD}/catalog")[1]["resources"][0]
                      ["last_aggregated_period"] == "2026-04", what="the early aggregation applied")
    clock.set(at("2026-04-01T00:00:01"))
    completed = pipeline.wait_for(
        lambda o: [e["data"] for e in o.events(OBL) if e["type"].endswith(".completed")
                   and e["data"].get("period") == "2026-04"], what="April completed by the early aggregation")
    assert completed[0]["department"] == EARLY_PERIOD and completed[0]["on_time"] is True

    # Past April's deadline: 30 April + 5 working days over the Labour Day holidays.
    april_due = calendar.deadline(date(2026, 4, 30), policy.obligations[DATA_AGGREGATION].limit("monthly"))
    clock.set(april_due.end + timedelta(seconds=1))
    pipeline.wait_for(lambda o: (MISSED_PERIOD, DATA_AGGREGATION) in {
        (e["data"]["department"], e["data"]["obligation"]) for e in o.events(VIO)}, what="the missed April")
    clock.set(april_due.end + timedelta(days=1, hours=9))  # more ticks must repeat nothing

    pipeline.wait_for(lambda o: outbox_pending(pipeline) == 0, what="an empty outbox")
    read_to_high_water(pipeline, VIO)
    pipeline.output.settle(10)

    violations = pipeline.output.events(VIO)
    assert Counter(key(e) for e in violations) == Counter({
        ("overdue", MISSED_PERIOD, DATA_AGGREGATION): 1, ("overdue", NEVER_OPENED, DATA_OPENING): 1,
        ("unauthorised-channel", OWN_CHANNEL, None): 1, ("closed-data-opened", CLOSED_OPENED, None): 1,
        ("share-scope-narrowed", NARROWED, None): 1}), [key(e) for e in violations]
    by_key = {key(e): e["data"] for e in violations}
    missed = by_key[("overdue", MISSED_PERIOD, DATA_AGGREGATION)]
    assert (missed["resource_code"], missed["period"], missed["article"]) == ("TJ-1", "2026-04", "第二十五条（二）")
    assert april_due.due_date.isoformat() in missed["explanation"] and "2026-04 期" in missed["explanation"]
    assert by_key[("overdue", NEVER_OPENED, DATA_OPENING)]["articles"] == ["第二十五条（八）"]
    assert by_key[("unauthorised-channel", OWN_CHANNEL, None)]["articles"] == ["第十四条", "第二十五条（七）"]
    assert by_key[("closed-data-opened", CLOSED_OPENED, None)]["trigger_event_id"] == "O-closed"
    assert by_key[("share-scope-narrowed", NARROWED, None)]["resource_code"] == "ZF-1"
    for data in by_key.values():
        assert data["policy_id"] == policy.id and data["department"] in data["explanation"]

    reasons = sorted(e["data"]["reason"] for e in pipeline.output.events(DLQ))
    assert len(reasons) == 3, reasons
    assert any("data.period must be a period like" in r for r in reasons)
    assert any("is an ISO week, but resource 'TJ-1' has update cycle monthly" in r for r in reasons)
    assert any("missing required field data.channel" in r for r in reasons)

    status, unmatched = worker.get("/api/unmatched")
    assert status == 200 and [u["resource_code"] for u in unmatched["unmatched"]] == ["LT-404"]
    status, catalog = worker.get(f"/api/departments/{MISSED_PERIOD}/catalog")
    (tj,) = catalog["resources"]
    assert tj["state"] == "overdue" and tj["next_due"]["period"] == "2026-04"
    _, early = worker.get(f"/api/departments/{OPENED_BEFORE_REGISTERED}/resources/XF-1")
    assert early["held"] == [] and [o["status"] for o in early["obligations"]] == ["completed"]
