"""The event contract: what is accepted, and the reason given for what is not."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from models import cloudevents as ce
from models import events as ev
from models import validation
from streams import topics


def regulation_event(**data_overrides):
    data = {
        "regulation_id": "reg-2026-001",
        "title": "长沙市公共数据管理办法",
        "change_kind": "amended",
        "changed_on": "2026-03-02",
        "affected_departments": ["jyj", "mzj"],
    }
    data.update(data_overrides)
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/yuhua/legal-affairs",
        "type": ev.REGULATION_CHANGED,
        "time": "2026-03-02T10:00:00+08:00",
        "data": data,
    }


def encode(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def reason_of(value, headers=None, **kwargs) -> str:
    with pytest.raises(ev.InvalidEvent) as caught:
        validation.parse_cloudevent(value, headers, **kwargs)
    return caught.value.reason


def test_structured_regulation_change_is_parsed_into_typed_fields():
    event = validation.parse_cloudevent(encode(regulation_event()))
    assert event.key == ("/yuhua/legal-affairs", "evt-1")
    assert event.data == ev.RegulationChanged("reg-2026-001", "长沙市公共数据管理办法", "amended",
                                              date(2026, 3, 2), ("jyj", "mzj"))
    assert event.time == datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    assert event.start_day() == date(2026, 3, 2)


def test_binary_mode_reads_attributes_from_ce_headers():
    data = regulation_event()["data"]
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"evt-9"), ("ce_source", b"/yuhua/legal-affairs"),
               ("ce_type", ev.REGULATION_CHANGED.encode()), ("ce_time", b"2026-03-02T02:00:00Z"),
               ("ce_subject", b"jyj"), ("content-type", b"application/json")]
    event = validation.parse_cloudevent(encode(data), headers)
    assert event.id == "evt-9" and event.subject == "jyj"
    assert event.data.affected_departments == ("jyj", "mzj")


def test_timestamp_without_offset_is_read_as_shanghai():
    obj = regulation_event()
    obj["time"] = "2026-03-02T10:00:00"
    event = validation.parse_cloudevent(encode(obj))
    assert event.time.utcoffset() == timedelta(hours=8)
    assert event.time.astimezone(timezone.utc).hour == 2


def test_catalog_update_with_resources_and_resolves():
    obj = {
        "specversion": "1.0", "id": "c-1", "source": "/yuhua/catalog-platform", "type": ev.CATALOG_UPDATED,
        "time": "2026-03-10T09:00:00+08:00",
        "data": {"department": "jyj", "submitted_at": "2026-03-10T08:59:00+08:00", "catalog_version": "v7",
                 "resolves": ["evt-1"],
                 "resources": [{"code": "R1", "name": "学籍", "action": "modified", "share_type": "conditional",
                                "previous_share_type": "unconditional", "contains_personal_info": True}]},
    }
    event = validation.parse_cloudevent(encode(obj))
    assert event.data.resolves == ("evt-1",)
    resource = event.data.resources[0]
    assert (resource.share_type, resource.previous_share_type, resource.contains_personal_info,
            resource.desensitized, resource.approval_ref) == ("conditional", "unconditional", True, None, None)
    assert event.start_day() == date(2026, 3, 10)


def test_duty_change_lists_department_then_counterparts_once():
    obj = regulation_event()
    obj["type"] = ev.DUTY_CHANGED
    obj["data"] = {"department": "jyj", "changed_on": "2026-03-02", "change_kind": "transferred",
                   "description": "职能划转", "counterpart_departments": ["mzj", "jyj"]}
    event = validation.parse_cloudevent(encode(obj))
    assert event.departments() == ("jyj", "mzj")


@pytest.mark.parametrize("value, expected", [
    (None, "no value"),
    (b"\xff\xfe", "not JSON"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a CloudEvent"),
])
def test_undecodable_values_are_rejected_with_reason(value, expected):
    assert expected in reason_of(value)


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o.update(specversion="0.3"), "specversion"),
    (lambda o: o.pop("id"), "missing required field id"),
    (lambda o: o.pop("source"), "missing required field source"),
    (lambda o: o.update(type="gov.catalog.unknown"), "unknown type"),
    (lambda o: o.update(time="yesterday"), "time must be an RFC 3339 timestamp"),
    (lambda o: o.pop("data"), "missing required field data"),
    (lambda o: o.update(data="text"), "data must be a JSON object"),
    (lambda o: o["data"].update(changed_on="2026-02-30"), "data.changed_on is not a date that exists"),
    (lambda o: o["data"].update(changed_on="02/03/2026"), "data.changed_on must be an ISO 8601 date"),
    (lambda o: o["data"].update(change_kind="rewritten"), "data.change_kind must be one of"),
    (lambda o: o["data"].update(affected_departments=[]), "data.affected_departments must list at least one"),
    (lambda o: o["data"].update(affected_departments="jyj"), "data.affected_departments must be a list"),
    (lambda o: o["data"].update(affected_departments=[3]), "data.affected_departments[0] must be a string"),
    (lambda o: o["data"].pop("title"), "missing required field data.title"),
    (lambda o: o["data"].update(title="法" * 1001), "oversized value: data.title"),
    (lambda o: o.update(id="x" * 300), "oversized value: id"),
])
def test_invalid_envelopes_and_fields_name_the_problem(mutate, expected):
    obj = regulation_event()
    mutate(obj)
    assert expected in reason_of(encode(obj))


def test_boolean_fields_must_be_booleans():
    obj = {"specversion": "1.0", "id": "c-1", "source": "/s", "type": ev.CATALOG_UPDATED,
           "time": "2026-03-10T09:00:00+08:00",
           "data": {"department": "jyj", "submitted_at": "2026-03-10T08:59:00+08:00", "catalog_version": "v7",
                    "resources": [{"code": "R1", "action": "added", "desensitized": "yes"}]}}
    assert "data.resources[0].desensitized must be true or false" in reason_of(encode(obj))


def test_message_larger_than_limit_is_oversized():
    value = encode(regulation_event())
    assert "oversized value" in reason_of(value, max_bytes=len(value) - 1)
    assert validation.parse_cloudevent(value, max_bytes=len(value)).id == "evt-1"


def test_impossible_timestamp_is_rejected():
    obj = {"specversion": "1.0", "id": "o-2", "source": "/s", "type": ev.OBJECTION_RESOLVED,
           "time": "2026-03-10T09:00:00+08:00",
           "data": {"objection_id": "ob-1", "department": "jyj", "resource_code": "R1",
                    "resolved_at": "2026-02-29T10:00:00+08:00"}}
    assert "data.resolved_at is not a time that exists" in reason_of(encode(obj))


def test_build_cloudevent_round_trips_through_the_parser():
    built = validation.build_cloudevent(ev.OBJECTION_RAISED, "/yuhua/data-center",
                                {"objection_id": "ob-1", "department": "jyj", "resource_code": "R1",
                                 "raised_on": date(2026, 3, 3)},
                                id="o-1", subject="jyj", time=datetime(2026, 3, 3, 1, tzinfo=timezone.utc))
    event = validation.parse_cloudevent(ce.encode(built))
    assert event.data == ev.ObjectionRaised("ob-1", "jyj", "R1", date(2026, 3, 3))
    assert built["time"] == "2026-03-03T09:00:00+08:00"
    assert validation.to_cloudevent_dict(event)["data"] == built["data"]


def test_build_cloudevent_refuses_an_invalid_input_event():
    with pytest.raises(ev.InvalidEvent, match="data.raised_on"):
        validation.build_cloudevent(ev.OBJECTION_RAISED, "/s", {"objection_id": "ob-1", "department": "jyj",
                                                        "resource_code": "R1", "raised_on": "2026-13-01"})


def test_every_input_type_has_an_input_topic():
    assert {topics.TOPIC_OF_TYPE[t] for t in ev.INPUT_TYPES} == set(topics.INPUT_TOPICS)
