"""The bad-input corpus (issue 9): every kind of message the tracker must refuse, kept as data.

Each ``BadInput`` is one Kafka message: the logical topic it is sent to, its
value and headers exactly as sent, and a part of the reason its dead letter
must give. ``stage`` says who refuses it: the parser (``decode_message``
returns ``Rejected``) or the service (the message parses; the tracker
dead-letters it, e.g. a department the registry does not know).

Used by ``tests/unit/test_bad_input_corpus.py`` (through ``decode_message``)
and ``tests/e2e/test_bad_input_corpus.py`` (through the real broker and worker,
on SQLite and PostgreSQL). ``MAX_BYTES`` is the size limit both use.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable

from models import events as ev
from models.cloudevents import encode
from streams import topics as tp

MAX_BYTES = 65_536
STRUCTURED = (("content-type", b"application/cloudevents+json"),)


@dataclass(frozen=True)
class BadInput:
    kind: str
    topic: str  # logical name
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    reason: str  # a part of the dead letter's reason
    stage: str = "parser"  # or "service"


TIME = "2026-03-02T10:00:00+08:00"


def base(event_type: str, event_id: str) -> dict[str, Any]:
    """A valid event of ``event_type``, as a JSON-able dict."""
    data = {
        ev.REGULATION_CHANGED: {"regulation_id": "reg-1", "title": "《长沙市公共数据管理办法》修订",
                                "change_kind": "amended", "changed_on": "2026-03-02",
                                "affected_departments": ["jyj"]},
        ev.DUTY_CHANGED: {"department": "jyj", "changed_on": "2026-03-02", "change_kind": "transferred",
                          "description": "职能划转", "counterpart_departments": ["mzj"]},
        ev.CATALOG_UPDATED: {"department": "jyj", "submitted_at": "2026-03-05T10:00:00+08:00",
                             "catalog_version": "v-1", "resolves": ["R1"],
                             "resources": [{"code": "RES-1", "action": "added", "share_type": "conditional",
                                            "open_type": "none", "contains_personal_info": False}]},
        ev.OBJECTION_RAISED: {"objection_id": "obj-1", "department": "jyj", "resource_code": "RES-1",
                              "raised_on": "2026-03-02", "raised_by": "mzj"},
        ev.OBJECTION_RESOLVED: {"objection_id": "obj-1", "department": "jyj", "resource_code": "RES-1",
                                "resolved_at": "2026-03-04T10:00:00+08:00"},
        ev.DATA_AGGREGATED: {"department": "jyj", "resource_code": "RES-1", "period": "2026-W10",
                             "aggregated_at": "2026-03-05T10:00:00+08:00", "records": 120},
        ev.DATA_OPENED: {"department": "jyj", "resource_code": "RES-1", "opened_at": "2026-03-05T10:00:00+08:00",
                         "channel": "municipal-platform"},
        ev.DATA_SHARED: {"department": "jyj", "resource_code": "RES-1", "shared_at": "2026-03-05T10:00:00+08:00",
                         "channel": "municipal-platform"},
    }[event_type]
    return {"specversion": "1.0", "id": event_id, "source": "/yuhua/corpus", "type": event_type, "time": TIME,
            "subject": "jyj", "datacontenttype": "application/json", "data": copy.deepcopy(data)}


TOPIC_OF = {ev.REGULATION_CHANGED: tp.REGULATION_CHANGES, ev.DUTY_CHANGED: tp.DUTY_CHANGES,
            ev.CATALOG_UPDATED: tp.CATALOG_UPDATES, ev.OBJECTION_RAISED: tp.DATA_OBJECTIONS,
            ev.OBJECTION_RESOLVED: tp.DATA_OBJECTIONS, ev.DATA_AGGREGATED: tp.DATA_ACTIVITIES,
            ev.DATA_OPENED: tp.DATA_ACTIVITIES, ev.DATA_SHARED: tp.DATA_ACTIVITIES}


def _structured(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def _edited(event_type: str, edit: Callable[[dict], Any]) -> Callable[[str], bytes]:
    def build(event_id: str) -> bytes:
        event = base(event_type, event_id)
        edit(event)
        return _structured(event)
    return build


def _text(event_type: str, old: str, new: str) -> Callable[[str], bytes]:
    """The valid event's JSON text with ``old`` replaced by ``new`` (for what json.dumps cannot write)."""
    def build(event_id: str) -> bytes:
        text = json.dumps(base(event_type, event_id), ensure_ascii=True)
        assert old in text, old
        return text.replace(old, new, 1).encode("utf-8")
    return build


def _drop(*path: str):
    def edit(event):
        target = event
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return edit


def _set(value, *path: str | int):
    def edit(event):
        target = event
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return edit


REG, DUTY, CAT = ev.REGULATION_CHANGED, ev.DUTY_CHANGED, ev.CATALOG_UPDATED
RAISED, RESOLVED = ev.OBJECTION_RAISED, ev.OBJECTION_RESOLVED
AGG, OPENED, SHARED = ev.DATA_AGGREGATED, ev.DATA_OPENED, ev.DATA_SHARED

# (kind, event type (its topic), value builder or bytes, reason part)
_STRUCTURED_CASES: list[tuple[str, str, Any, str]] = [
    # -------- not a JSON object at all
    ("not JSON", REG, b"this is not json", "is not JSON"),
    ("bad UTF-8", REG, b'{"id": "\xff\xfe"}', "not UTF-8 text"),
    ("empty value", REG, b"", "is not JSON"),
    ("truncated JSON", REG, b'{"specversion": "1.0", "id": ', "is not JSON"),
    ("trailing garbage", REG, b'{"specversion": "1.0"} and more', "is not JSON: Extra data"),
    ("JSON array", REG, b"[1, 2, 3]", "expected a JSON object, got a list"),
    ("JSON string", REG, b'"a string"', "expected a JSON object, got a string"),
    ("JSON number", REG, b"42", "expected a JSON object, got a number"),
    ("JSON null", REG, b"null", "expected a JSON object, got null"),
    ("UTF-8 byte order mark", REG, b"\xef\xbb\xbf{}", "is not JSON"),
    # -------- strict JSON
    ("NaN", REG, _text(REG, '"change_kind": "amended"', '"change_kind": NaN'), "NaN is not a JSON number"),
    ("Infinity", REG, _text(REG, '"change_kind": "amended"', '"change_kind": Infinity'),
     "Infinity is not a JSON number"),
    ("-Infinity", REG, _text(REG, '"change_kind": "amended"', '"change_kind": -Infinity'),
     "-Infinity is not a JSON number"),
    ("number that overflows", REG, _text(REG, '"change_kind": "amended"', '"change_kind": 1e999'),
     "number that overflows"),
    ("duplicate key", REG, _text(REG, '"title":', '"title": "one", "title":'), "key 'title' twice"),
    ("duplicate envelope key", REG, _text(REG, '"id":', '"id": "other", "id":'), "key 'id' twice"),
    ("deep nesting", REG, _text(REG, '"change_kind": "amended"', '"change_kind": ' + "[" * 40 + "]" * 40),
     "deeper than 32 levels"),
    ("huge integer", REG, _text(REG, '"change_kind": "amended"', '"change_kind": ' + "9" * 25),
     "integer of 25 digits"),
    # -------- text storage cannot hold
    ("lone surrogate in data.title", REG, _text(REG, '"title": "', '"title": "\\ud800'),
     "data.title contains a lone surrogate"),
    ("low surrogate in data.regulation_id", REG, _text(REG, '"regulation_id": "', '"regulation_id": "\\udc00'),
     "data.regulation_id contains a lone surrogate"),
    ("lone surrogate in id", REG, _text(REG, '"id": "', '"id": "\\ud83d'), "id contains a lone surrogate"),
    ("lone surrogate in source", REG, _text(REG, '"source": "', '"source": "\\udfff'),
     "source contains a lone surrogate"),
    ("NUL in data.title", REG, _text(REG, '"title": "', '"title": "\\u0000'), "data.title contains NUL"),
    ("NUL in subject", REG, _text(REG, '"subject": "', '"subject": "\\u0000'), "subject contains NUL"),
    ("NUL in id", REG, _text(REG, '"id": "', '"id": "x\\u0000'), "id contains NUL"),
    ("NUL in a key", REG, _text(REG, '"title":', '"ti\\u0000tle": "x", "title":'), "a key in data contains NUL"),
    ("bell character in data.description", DUTY, _text(DUTY, '"description": "', '"description": "\\u0007'),
     "data.description contains a control character (\\u0007)"),
    ("escape character in source", REG, _text(REG, '"source": "', '"source": "\\u001b'),
     "source contains a control character (\\u001b)"),
    ("DEL in data.catalog_version", CAT, _text(CAT, '"catalog_version": "', '"catalog_version": "\\u007f'),
     "data.catalog_version contains a control character (\\u007f)"),
    ("C1 control in data.title", REG, _text(REG, '"title": "', '"title": "\\u0085'),
     "data.title contains a control character (\\u0085)"),
    ("raw NUL byte in the value", REG, _text(REG, '"title": "', '"title": "\x00'),
     "is not JSON: Invalid control character at line"),
    # -------- sizes
    ("oversized message", REG, _edited(REG, _set("长" * 30_000, "data", "title")), "oversized value: the message has"),
    ("oversized data.title", REG, _edited(REG, _set("x" * 1001, "data", "title")),
     "oversized value: data.title has 1001 characters"),
    ("oversized id", REG, _edited(REG, _set("x" * 257, "id")), "oversized value: id has 257 characters"),
    ("oversized source", REG, _edited(REG, _set("/" + "x" * 600, "source")), "oversized value: source has 601"),
    ("oversized data.description", DUTY, _edited(DUTY, _set("x" * 4001, "data", "description")),
     "oversized value: data.description has 4001 characters"),
    ("too many affected departments", REG, _edited(REG, _set(["jyj"] * 1001, "data", "affected_departments")),
     "oversized value: data.affected_departments has 1001 entries"),
    ("oversized department code", REG, _edited(REG, _set(["j" * 65], "data", "affected_departments")),
     "oversized value: data.affected_departments[0] has 65 characters"),
    # -------- envelope
    ("missing specversion", REG, _edited(REG, _drop("specversion")), "missing required field specversion"),
    ("specversion 0.3", REG, _edited(REG, _set("0.3", "specversion")), 'specversion must be "1.0"'),
    ("specversion as a number", REG, _edited(REG, _set(1.0, "specversion")), 'specversion must be "1.0"'),
    ("missing id", REG, _edited(REG, _drop("id")), "missing required field id"),
    ("empty id", REG, _edited(REG, _set("", "id")), "id must not be empty"),
    ("blank id", REG, _edited(REG, _set("   ", "id")), "id must not be empty"),
    ("id as a number", REG, _edited(REG, _set(7, "id")), "id must be a string, got a number"),
    ("missing source", REG, _edited(REG, _drop("source")), "missing required field source"),
    ("source as a list", REG, _edited(REG, _set(["/a"], "source")), "source must be a string, got a list"),
    ("missing type", REG, _edited(REG, _drop("type")), "missing required field type"),
    ("unknown type", REG, _edited(REG, _set("gov.catalog.unknown.happened", "type")), "unknown type"),
    ("output type sent as input", REG, _edited(REG, _set(ev.REMINDER, "type")), "unknown type"),
    ("missing time", REG, _edited(REG, _drop("time")), "missing required field time"),
    ("time not a timestamp", REG, _edited(REG, _set("yesterday", "time")), "time must be an RFC 3339 timestamp"),
    ("time that does not exist", REG, _edited(REG, _set("2026-02-30T10:00:00+08:00", "time")),
     "time is not a time that exists"),
    ("time as a number", REG, _edited(REG, _set(1772416800, "time")), "time must be an RFC 3339 timestamp"),
    ("subject as a number", REG, _edited(REG, _set(3, "subject")), "subject must be a string"),
    ("missing data", REG, _edited(REG, _drop("data")), "missing required field data"),
    ("data null", REG, _edited(REG, _set(None, "data")), "missing required field data"),
    ("data a string", REG, _edited(REG, _set("{}", "data")), "data must be a JSON object, got a string"),
    ("data a list", REG, _edited(REG, _set([], "data")), "data must be a JSON object, got a list"),
    # -------- a type on the wrong topic
    ("duty change on the regulation topic", REG, lambda i: _structured(base(DUTY, i)),
     "does not belong on topic"),
    ("catalog update on the objection topic", RAISED, lambda i: _structured(base(CAT, i)),
     "does not belong on topic"),
    ("objection on the catalog-update topic", CAT, lambda i: _structured(base(RAISED, i)),
     "does not belong on topic"),
    ("regulation change on the duty topic", DUTY, lambda i: _structured(base(REG, i)), "does not belong on topic"),
    # -------- gov.catalog.regulation.changed
    ("missing data.regulation_id", REG, _edited(REG, _drop("data", "regulation_id")),
     "missing required field data.regulation_id"),
    ("missing data.title", REG, _edited(REG, _drop("data", "title")), "missing required field data.title"),
    ("blank data.title", REG, _edited(REG, _set(" \t", "data", "title")), "data.title must not be empty"),
    ("data.title as a number", REG, _edited(REG, _set(12, "data", "title")), "data.title must be a string"),
    ("missing data.change_kind", REG, _edited(REG, _drop("data", "change_kind")),
     "missing required field data.change_kind"),
    ("unknown data.change_kind", REG, _edited(REG, _set("rewritten", "data", "change_kind")),
     "data.change_kind must be one of"),
    ("data.change_kind as a number", REG, _edited(REG, _set(42, "data", "change_kind")),
     "data.change_kind must be a string"),
    ("missing data.changed_on", REG, _edited(REG, _drop("data", "changed_on")),
     "missing required field data.changed_on"),
    ("impossible date 02-30", REG, _edited(REG, _set("2026-02-30", "data", "changed_on")),
     "data.changed_on is not a date that exists"),
    ("impossible month 13", REG, _edited(REG, _set("2026-13-01", "data", "changed_on")),
     "data.changed_on is not a date that exists"),
    ("not a leap year", REG, _edited(REG, _set("2025-02-29", "data", "changed_on")),
     "data.changed_on is not a date that exists"),
    ("date in another format", REG, _edited(REG, _set("02/03/2026", "data", "changed_on")),
     "data.changed_on must be an ISO 8601 date"),
    ("date as a number", REG, _edited(REG, _set(20260302, "data", "changed_on")),
     "data.changed_on must be an ISO 8601 date"),
    ("date with a time", REG, _edited(REG, _set("2026-03-02T10:00:00", "data", "changed_on")),
     "data.changed_on must be an ISO 8601 date"),
    ("missing data.affected_departments", REG, _edited(REG, _drop("data", "affected_departments")),
     "missing required field data.affected_departments"),
    ("empty data.affected_departments", REG, _edited(REG, _set([], "data", "affected_departments")),
     "data.affected_departments must list at least one entry"),
    ("data.affected_departments a string", REG, _edited(REG, _set("jyj", "data", "affected_departments")),
     "data.affected_departments must be a list, got a string"),
    ("a department that is a number", REG, _edited(REG, _set([42], "data", "affected_departments")),
     "data.affected_departments[0] must be a string"),
    ("unknown department", REG, _edited(REG, _set(["no-such-dept"], "data", "affected_departments")),
     "unknown department 'no-such-dept'"),
    # -------- gov.catalog.duty.changed
    ("missing data.department (duty)", DUTY, _edited(DUTY, _drop("data", "department")),
     "missing required field data.department"),
    ("data.department an object", DUTY, _edited(DUTY, _set({"code": "jyj"}, "data", "department")),
     "data.department must be a string, got an object"),
    ("unknown duty change_kind", DUTY, _edited(DUTY, _set("merged-ish", "data", "change_kind")),
     "data.change_kind must be one of"),
    ("missing data.description", DUTY, _edited(DUTY, _drop("data", "description")),
     "missing required field data.description"),
    ("counterparts a string", DUTY, _edited(DUTY, _set("mzj", "data", "counterpart_departments")),
     "data.counterpart_departments must be a list"),
    ("impossible duty date", DUTY, _edited(DUTY, _set("2026-04-31", "data", "changed_on")),
     "data.changed_on is not a date that exists"),
    ("unknown counterpart department", DUTY, _edited(DUTY, _set(["nowhere"], "data", "counterpart_departments")),
     "unknown department 'nowhere'"),
    # -------- gov.catalog.catalog.updated
    ("missing data.submitted_at", CAT, _edited(CAT, _drop("data", "submitted_at")),
     "missing required field data.submitted_at"),
    ("submitted_at a date only", CAT, _edited(CAT, _set("2026-03-05", "data", "submitted_at")),
     "data.submitted_at must be an RFC 3339 timestamp"),
    ("submitted_at hour 25", CAT, _edited(CAT, _set("2026-03-05T25:00:00+08:00", "data", "submitted_at")),
     "data.submitted_at is not a time that exists"),
    ("submitted_at offset +25:00", CAT, _edited(CAT, _set("2026-03-05T10:00:00+25:00", "data", "submitted_at")),
     "data.submitted_at is not a time that exists"),
    ("missing data.catalog_version", CAT, _edited(CAT, _drop("data", "catalog_version")),
     "missing required field data.catalog_version"),
    ("empty data.resolves", CAT, _edited(CAT, _set([], "data", "resolves")),
     "data.resolves must list at least one entry"),
    ("data.resolves a string", CAT, _edited(CAT, _set("R1", "data", "resolves")), "data.resolves must be a list"),
    ("data.resources an object", CAT, _edited(CAT, _set({}, "data", "resources")),
     "data.resources must be a list, got an object"),
    ("a resource that is a string", CAT, _edited(CAT, _set(["RES-1"], "data", "resources")),
     "data.resources[0] must be a JSON object, got a string"),
    ("a resource without a code", CAT, _edited(CAT, _drop("data", "resources", 0, "code")),
     "missing required field data.resources[0].code"),
    ("unknown resource action", CAT, _edited(CAT, _set("burned", "data", "resources", 0, "action")),
     "data.resources[0].action must be one of"),
    ("unknown share type", CAT, _edited(CAT, _set("everyone", "data", "resources", 0, "share_type")),
     "data.resources[0].share_type must be one of"),
    ("personal info flag as text", CAT, _edited(CAT, _set("yes", "data", "resources", 0, "contains_personal_info")),
     "data.resources[0].contains_personal_info must be true or false, got a string"),
    # -------- gov.catalog.objection.raised / resolved
    ("missing data.objection_id", RAISED, _edited(RAISED, _drop("data", "objection_id")),
     "missing required field data.objection_id"),
    ("missing data.resource_code", RAISED, _edited(RAISED, _drop("data", "resource_code")),
     "missing required field data.resource_code"),
    ("impossible raised_on", RAISED, _edited(RAISED, _set("2026-04-31", "data", "raised_on")),
     "data.raised_on is not a date that exists"),
    ("raised_by a number", RAISED, _edited(RAISED, _set(5, "data", "raised_by")), "data.raised_by must be a string"),
    ("missing data.resolved_at", RESOLVED, _edited(RESOLVED, _drop("data", "resolved_at")),
     "missing required field data.resolved_at"),
    ("resolved_at not a time", RESOLVED, _edited(RESOLVED, _set("soon", "data", "resolved_at")),
     "data.resolved_at must be an RFC 3339 timestamp"),
    ("objection for an unknown department", RESOLVED, _edited(RESOLVED, _set("ghost", "data", "department")),
     "unknown department 'ghost'"),
    # -------- the catalog register's attributes (gov.catalog.catalog.updated)
    ("unknown update cycle", CAT, _edited(CAT, _set("sometimes", "data", "resources", 0, "update_cycle")),
     "data.resources[0].update_cycle must be one of"),
    ("complete as text", CAT, _edited(CAT, _set("yes", "data", "complete")), "data.complete must be true or false"),
    ("oversized share channel", CAT, _edited(CAT, _set("x" * 65, "data", "resources", 0, "share_channel")),
     "oversized value: data.resources[0].share_channel has 65 characters"),
    # -------- gov.catalog.data.aggregated / opened / shared
    ("aggregation without a period", AGG, _edited(AGG, _drop("data", "period")), "missing required field data.period"),
    ("a period that is no period", AGG, _edited(AGG, _set("March", "data", "period")),
     "data.period must be a period like"),
    ("month 13", AGG, _edited(AGG, _set("2026-13", "data", "period")), "data.period must be a period like"),
    ("week 60", AGG, _edited(AGG, _set("2026-W60", "data", "period")), "names week 60"),
    ("negative records", AGG, _edited(AGG, _set(-1, "data", "records")), "data.records must be at least 0"),
    ("records as text", AGG, _edited(AGG, _set("120", "data", "records")), "data.records must be a whole number"),
    ("aggregation without its time", AGG, _edited(AGG, _drop("data", "aggregated_at")),
     "missing required field data.aggregated_at"),
    ("opening without a channel", OPENED, _edited(OPENED, _drop("data", "channel")),
     "missing required field data.channel"),
    ("sharing at no time", SHARED, _edited(SHARED, _set("yesterday", "data", "shared_at")),
     "data.shared_at must be an RFC 3339 timestamp"),
    ("activity without a resource", SHARED, _edited(SHARED, _drop("data", "resource_code")),
     "missing required field data.resource_code"),
    ("an activity on the catalog-update topic", CAT, lambda i: _structured(base(AGG, i)), "does not belong on topic"),
    ("a catalog update on the activity topic", AGG, lambda i: _structured(base(CAT, i)),
     "does not belong on topic"),
]

_SERVICE_KINDS = {"unknown department", "unknown counterpart department", "objection for an unknown department"}


def _binary_headers(event_id: str, **overrides: bytes | None) -> list[tuple[str, bytes]]:
    headers = {"ce_specversion": b"1.0", "ce_id": event_id.encode(), "ce_source": b"/yuhua/corpus",
               "ce_type": REG.encode(), "ce_time": TIME.encode(), "content-type": b"application/json"}
    for name, value in overrides.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return list(headers.items())


def _binary_data() -> bytes:
    return json.dumps(base(REG, "x")["data"]).encode("utf-8")


# (kind, value, headers builder(event id), reason part): binary mode and content-type lies, on the regulation topic
_HEADER_CASES: list[tuple[str, Any, Callable[[str], list], str]] = [
    ("binary: no ce_id", _binary_data(), lambda i: _binary_headers(i, ce_id=None), "missing required field id"),
    ("binary: no ce_source", _binary_data(), lambda i: _binary_headers(i, ce_source=None),
     "missing required field source"),
    ("binary: ce_specversion 0.3", _binary_data(), lambda i: _binary_headers(i, ce_specversion=b"0.3"),
     'specversion must be "1.0"'),
    ("binary: ce_time not a time", _binary_data(), lambda i: _binary_headers(i, ce_time=b"now"),
     "time must be an RFC 3339 timestamp"),
    ("binary: data not JSON", b"<xml/>", lambda i: _binary_headers(i), "the binary-mode data is not JSON"),
    ("binary: content-type text/plain", _binary_data(),
     lambda i: _binary_headers(i, **{"content-type": b"text/plain"}), "is not JSON; the data must be"),
    ("binary: a ce_data header", _binary_data(), lambda i: _binary_headers(i, ce_data=b"{}"),
     "a ce_data header is not allowed"),
    ("binary: header not UTF-8", _binary_data(), lambda i: _binary_headers(i, ce_source=b"\xff\xfe"),
     "header ce_source is not UTF-8"),
    ("binary: ce_id given twice", _binary_data(), lambda i: _binary_headers(i) + [("ce_id", b"again")],
     "header ce_id is given twice"),
    ("binary: NUL in a header", _binary_data(), lambda i: _binary_headers(i, ce_subject=b"jyj\x00"),
     "header ce_subject contains NUL"),
    ("binary: control character in ce_type", _binary_data(),
     lambda i: _binary_headers(i, ce_type=REG.encode() + b"\x1b"), "header ce_type contains a control character"),
    ("binary: data with a lone surrogate", b'{"title": "\\ud800"}', lambda i: _binary_headers(i),
     "data.title contains a lone surrogate"),
    ("binary: data a list", b"[]", lambda i: _binary_headers(i), "data must be a JSON object, got a list"),
    ("content-type lie: batch mode", lambda i: _structured(base(REG, i)),
     lambda i: [("content-type", b"application/cloudevents-batch+json")], "is not supported"),
    ("content-type lie: structured type, binary body", _binary_data(),
     lambda i: [("content-type", b"application/cloudevents+json")] + _binary_headers(i)[:-1],
     "missing required field specversion"),
    ("content-type lie: plain JSON without ce_ headers", _binary_data(),
     lambda i: [("content-type", b"application/json")], "missing required field specversion"),
    ("content-type not UTF-8", lambda i: _structured(base(REG, i)), lambda i: [("content-type", b"\xc3\x28")],
     "header content-type is not UTF-8"),
    ("tombstone (no value)", None, lambda i: [], "the message has no value"),
]


def corpus() -> list[BadInput]:
    """Every bad input, each with an event id of its own (``bad-<n>``) where it has one."""
    found: list[BadInput] = []
    for n, (kind, event_type, value, reason) in enumerate(_STRUCTURED_CASES):
        raw = value(f"bad-{n}") if callable(value) else value
        found.append(BadInput(kind, TOPIC_OF[event_type], raw, STRUCTURED, reason,
                              "service" if kind in _SERVICE_KINDS else "parser"))
    for m, (kind, value, headers, reason) in enumerate(_HEADER_CASES, start=len(found)):
        raw = value(f"bad-{m}") if callable(value) else value
        found.append(BadInput(kind, tp.REGULATION_CHANGES, raw, tuple(headers(f"bad-{m}")), reason))
    kinds = [item.kind for item in found]
    assert len(kinds) == len(set(kinds)), "each kind once"
    return found


def valid_after(n: int, department: str = "jyj") -> bytes:
    """The valid regulation change sent after bad input ``n``: it must open an obligation."""
    event = base(REG, f"ok-{n}")
    event["data"]["regulation_id"] = f"reg-ok-{n}"
    event["data"]["affected_departments"] = [department]
    return encode(event)
