"""The event contract's fields as data: one source for the parser and for the JSON Schemas.

Each input type's ``data`` is a ``Record`` of ``Field``s (name, kind, required,
limits, allowed values, a description). ``models.validation`` reads events
with these records, and ``json_schema`` turns the same records into JSON
Schema (draft 2020-12) for upstream teams (AsyncAPI), so the published schema
cannot drift from what the worker accepts. Adding a field or an event type is
adding it here (and its dataclass in ``models.events``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from models import events as ev
from models import periods

TEXT = "text"
ENUM = "enum"
DATE = "date"
TIMESTAMP = "timestamp"
BOOLEAN = "boolean"
INTEGER = "integer"
TEXT_LIST = "text_list"
RECORD_LIST = "record_list"
PERIOD = "period"  # a period of an update cycle: 2026-11-20, 2026-W47, 2026-11, 2026-Q4, 2026-H2, 2026
PAIR_LIST = "pair_list"  # output only: [[name, value], ...]
BASE64 = "base64"  # output only: bytes as base64 (may be empty)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$"
# Not only blanks, no control character but tab and newline, no lone surrogate (models.cloudevents refuses them).
TEXT_PATTERN = r"^(?=[\s\S]*\S)[^\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]*$"
# What the schemas say of dates and times, closer than the parser's first look (which then asks the calendar
# whether the day exists): months, days, hours, minutes and offsets in range; "format": "date" checks the rest.
DATE_SCHEMA_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
TIMESTAMP_SCHEMA_PATTERN = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
                            r"(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)?$")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    description: str
    required: bool = True
    max_len: int = ev.MAX_ID
    allowed: tuple[str, ...] = ()
    non_empty: bool = False  # lists: at least one entry
    max_items: int = ev.MAX_LIST
    item: "Record | None" = None  # RECORD_LIST: the entries' record
    default: Any = None  # the value when absent (or null)
    minimum: int | None = None  # INTEGER


@dataclass(frozen=True)
class Record:
    name: str
    description: str
    fields: tuple[Field, ...]
    build: Callable[..., Any]  # called with one keyword argument per field


def text(name: str, description: str, *, required: bool = True, max_len: int = ev.MAX_ID) -> Field:
    return Field(name, TEXT, description, required=required, max_len=max_len)


def code(name: str, description: str, *, required: bool = True) -> Field:
    return Field(name, TEXT, description, required=required, max_len=ev.MAX_CODE)


def enum(name: str, allowed: tuple[str, ...], description: str, *, required: bool = True) -> Field:
    return Field(name, ENUM, description, required=required, max_len=ev.MAX_CODE, allowed=allowed)


RESOURCE = Record("ResourceChange", "One changed entry of a department's catalog (第八条).", (
    text("code", "the resource's code in the catalog"),
    enum("action", ev.RESOURCE_ACTIONS, "what the update does to the entry"),
    text("name", "the resource's name", required=False, max_len=ev.MAX_TITLE),
    enum("share_type", ev.SHARE_TYPES, "share type after the update (第十五条)", required=False),
    enum("previous_share_type", ev.SHARE_TYPES, "share type before the update", required=False),
    enum("open_type", ev.OPEN_TYPES, "open type after the update (第十九条)", required=False),
    enum("previous_open_type", ev.OPEN_TYPES, "open type before the update", required=False),
    Field("contains_personal_info", BOOLEAN, "holds personal or sensitive information (第二十条); absent: not "
          "stated (a modified entry keeps the register's value)", required=False),
    Field("desensitized", BOOLEAN, "desensitized (脱敏) before opening; absent: not stated", required=False),
    text("approval_ref", "authority for narrowing a share scope", required=False, max_len=ev.MAX_TITLE),
    text("classification", "classification (分类, 第八条)", required=False, max_len=ev.MAX_TITLE),
    text("responsible_party", "responsible party (责任方, 第八条)", required=False, max_len=ev.MAX_TITLE),
    text("format", "format (格式, 第八条)", required=False, max_len=ev.MAX_TITLE),
    enum("update_cycle", ev.UPDATE_CYCLES, "update cycle (更新时限, 第八条): one aggregation owed per period; "
         "realtime counts as daily, irregular owes nothing periodic", required=False),
    text("share_channel", "the exchange channel it is shared through (第十四条: municipal-platform)",
         required=False, max_len=ev.MAX_CODE),
    text("open_channel", "the system it is opened through (第十八条: municipal-platform)", required=False,
         max_len=ev.MAX_CODE),
    text("usage_requirements", "usage requirements (使用要求, 第八条)", required=False, max_len=ev.MAX_TEXT),
), ev.ResourceChange)


def _activity(name: str, description: str, build, at_field: str, at_description: str, *, period: bool = False,
              channel: bool = False) -> Record:
    fields = [code("department", "the department whose resource it is"),
              text("resource_code", "the catalog resource")]
    if period:
        fields.append(Field("period", PERIOD, "the period whose data was aggregated: " + periods.EXAMPLES,
                            max_len=16))
    fields.append(Field(at_field, TIMESTAMP, at_description))
    if channel:
        fields.append(text("channel", "the system used; municipal-platform is the municipal data resource platform "
                                      "(第十四条, 第十八条)", max_len=ev.MAX_CODE))
    fields.append(Field("records", INTEGER, "rows or files delivered", required=False, minimum=0))
    return Record(name, description, tuple(fields), build)

PAYLOADS: dict[str, Record] = {
    ev.REGULATION_CHANGED: Record("RegulationChanged", "A law or regulation was revised (第十条).", (
        text("regulation_id", "identifier in the legal-affairs database"),
        text("title", "title of the law or regulation", max_len=ev.MAX_TITLE),
        enum("change_kind", ev.REGULATION_CHANGE_KINDS, "what happened to it"),
        Field("changed_on", DATE, "the day it was revised (the 第十条 start day)"),
        Field("affected_departments", TEXT_LIST, "every department whose catalog must follow", non_empty=True,
              max_len=ev.MAX_CODE),
    ), ev.RegulationChanged),
    ev.DUTY_CHANGED: Record("DutyChanged", "A department's administrative functions changed (第十条).", (
        code("department", "whose functions changed"),
        Field("changed_on", DATE, "the day the change took effect (the 第十条 start day)"),
        enum("change_kind", ev.DUTY_CHANGE_KINDS, "what kind of change"),
        text("description", "what changed", max_len=ev.MAX_TEXT),
        Field("counterpart_departments", TEXT_LIST, "departments that gain or lose the functions; each owes an update",
              required=False, max_len=ev.MAX_CODE, default=()),
    ), ev.DutyChanged),
    ev.CATALOG_UPDATED: Record("CatalogUpdated", "A department submitted an update of its catalog.", (
        code("department", "the department"),
        Field("submitted_at", TIMESTAMP, "when the update was submitted (compared with deadlines)"),
        text("catalog_version", "the catalog's version"),
        Field("resolves", TEXT_LIST, "the triggering events this update answers", required=False, non_empty=True),
        Field("resources", RECORD_LIST, "changed entries", required=False, max_items=ev.MAX_RESOURCES,
              item=RESOURCE, default=()),
        Field("complete", BOOLEAN, "true: resources is the whole catalog; a register entry not listed is removed",
              required=False, default=False),
    ), ev.CatalogUpdated),
    ev.OBJECTION_RAISED: Record("ObjectionRaised", "An objection to a data resource (第十三条).", (
        text("objection_id", "the objection's id"),
        code("department", "the providing department, who must verify"),
        text("resource_code", "the resource objected to"),
        Field("raised_on", DATE, "the day it was raised (the start day)"),
        code("raised_by", "the department that raised it", required=False),
    ), ev.ObjectionRaised),
    ev.OBJECTION_RESOLVED: Record("ObjectionResolved", "An objection was verified and resolved (第十三条).", (
        text("objection_id", "the objection's id"),
        code("department", "the providing department"),
        text("resource_code", "the resource objected to"),
        Field("resolved_at", TIMESTAMP, "when it was resolved (compared with the deadline)"),
    ), ev.ObjectionResolved),
    ev.DATA_AGGREGATED: _activity("DataAggregated", "One period of a resource's data reached the district resource "
                                  "library (第十二条).", ev.DataAggregated, "aggregated_at",
                                  "when it was aggregated (compared with the period's deadline)", period=True),
    ev.DATA_OPENED: _activity("DataOpened", "A resource's data were opened to the public (第十八条, 第二十条).",
                              ev.DataOpened, "opened_at", "when it was opened (compared with the deadline)",
                              channel=True),
    ev.DATA_SHARED: _activity("DataShared", "A resource's data were shared with departments (第十四条).",
                              ev.DataShared, "shared_at", "when it was shared", channel=True),
}


# ------------------------------------------------------------------ what the tracker publishes
# Documentation records (never parsed by the tracker): the ``data`` of each output type, for the AsyncAPI document
# and for the tests that check every output message against it. ``required=False`` marks a field that may be null
# or absent.

def _integer(name: str, description: str, *, required: bool = True, minimum: int | None = None) -> Field:
    return Field(name, INTEGER, description, required=required, minimum=minimum)


def _flag(name: str, description: str, *, required: bool = True) -> Field:
    return Field(name, BOOLEAN, description, required=required)


def _long_text(name: str, description: str, *, required: bool = True) -> Field:
    return Field(name, TEXT, description, required=required, max_len=1_000_000)


_OBLIGATION_FIELDS = (
    text("obligation_id", "the obligation's deterministic id"),
    code("department", "who owes it"),
    code("obligation", "its kind, e.g. catalog-update, data-verification, data-aggregation, data-opening"),
    text("article", "the article that sets the duty, e.g. 第十条"),
    text("trigger_event_id", "the event that opened it"),
    text("trigger_source", "that event's source", required=False),
    Field("start_day", DATE, "the day counting starts from (not counted)"),
    _integer("working_days", "the limit in working days", minimum=0),
    Field("due_date", DATE, "the last day of the period"),
    Field("due_end", TIMESTAMP, "the instant the period ends (24:00 of the due date, Asia/Shanghai)"),
    _flag("provisional", "the deadline touches a year without its State Council notice: it may still move"),
    enum("status", ("open", "completed", "overdue", "cancelled"), "the obligation's status"),
    text("policy_id", "the policy it was opened under"),
    text("policy_version", "that policy's version"),
    text("resource_code", "the catalog resource, for obligations about one", required=False),
    text("period", "the period, for data-aggregation obligations (e.g. 2026-11, 2026-W47)", required=False),
)

OUTPUTS: dict[str, Record] = {
    ev.REMINDER: Record("Reminder", "One reminder stage of an obligation, never repeated.", (
        *(f for f in _OBLIGATION_FIELDS if f.name in ("obligation_id", "department", "obligation", "article",
                                                      "trigger_event_id", "start_day", "due_date", "due_end",
                                                      "provisional", "resource_code", "period")),
        _integer("working_days_left", "working days left to the due date (0 on the due day)"),
        _integer("stage", "the reminder stage: working days left when it is due", minimum=0),
        _long_text("text", "the reminder as the department reads it (Chinese)"),
    ), dict),
    ev.VIOLATION_DETECTED: Record("Violation", "One violation, never repeated, with its explanation.", (
        text("violation_id", "the violation's deterministic id"),
        code("department", "the department"),
        code("rule", "e.g. overdue, share-scope-narrowed, sensitive-data-opened, unauthorised-channel, "
                     "closed-data-opened"),
        text("article", "the first article cited, e.g. 第二十五条（八）"),
        Field("articles", TEXT_LIST, "every article cited", non_empty=True),
        text("obligation_id", "the obligation, where there is one", required=False),
        code("obligation", "its kind, where there is one", required=False),
        text("resource_code", "the catalog resource, where it applies", required=False),
        text("period", "the period, where it applies", required=False),
        text("trigger_event_id", "the event that showed it"),
        Field("due_date", DATE, "the deadline that passed, where there is one", required=False),
        Field("detected_at", TIMESTAMP, "when the tracker found it"),
        text("policy_id", "the policy it was judged under"),
        _long_text("explanation", "what happened, which article, which days were counted (Chinese)"),
    ), dict),
    **{type_: Record(name, description, (*_OBLIGATION_FIELDS, *extra), dict) for type_, name, description, extra in (
        (ev.OBLIGATION_OPENED, "ObligationOpened", "An obligation was opened.", ()),
        (ev.OBLIGATION_COMPLETED, "ObligationCompleted", "An obligation was completed, on time or late.", (
            _flag("on_time", "completed before its deadline ended"),
            Field("completed_at", TIMESTAMP, "the time in the completing event"),
            text("completed_by_event_id", "the completing event"),
            _integer("working_days_taken", "working days from the start day to the completion", minimum=0),
        )),
        (ev.OBLIGATION_RESCHEDULED, "ObligationRescheduled",
         "A new holiday notice moved an obligation's deadline or its provisional flag.", (
             Field("previous_due_date", DATE, "the due date before"),
             _flag("previous_provisional", "the provisional flag before"),
         )),
        (ev.OBLIGATION_CANCELLED, "ObligationCancelled",
         "An obligation no longer owed (its resource was removed, its cycle changed or it left the open list).", (
             _long_text("reason", "why it was cancelled", required=False),
             Field("cancelled_at", TIMESTAMP, "when the tracker cancelled it", required=False),
         )),
    )},
    ev.EVENT_REJECTED: Record("EventRejected", "An input that could not be accepted, with its bytes and why.", (
        text("topic", "where it was read"),
        _integer("partition", "its partition", minimum=0),
        _integer("offset", "its offset", minimum=0),
        _long_text("reason", "why it was rejected, naming the field"),
        Field("value_base64", BASE64, "the original value, base64", required=False),
        Field("key_base64", BASE64, "the original key, base64", required=False),
        Field("headers", PAIR_LIST, "the original headers: [name, value base64] pairs"),
        text("event_id", "the event's id, when it parsed", required=False),
        text("event_source", "the event's source, when it parsed", required=False),
        text("event_type", "the event's type, when it parsed", required=False),
    ), dict),
    ev.NOTIFICATION_UNDELIVERABLE: Record("NotificationUndeliverable",
                                          "A delivery to a person or a robot was given up.", (
        text("notification_id", "the reminder or violation id"),
        enum("notification_kind", ("reminder", "violation"), "what it was"),
        code("department", "the department"),
        text("obligation_id", "the obligation, where there is one", required=False),
        enum("level", ("blue", "yellow", "red"), "the warning level (三色预警)"),
        enum("channel", ("email", "dingtalk", "wecom", "webhook"), "the channel"),
        text("recipient", "the person or the robot", max_len=ev.MAX_TITLE),
        text("recipient_label", "how people name the recipient", required=False, max_len=ev.MAX_TITLE),
        _long_text("reason", "the server's answer"),
        _integer("attempts", "how many sends were tried", minimum=0),
        Field("failed_at", TIMESTAMP, "when it was given up"),
    ), dict),
}


# ------------------------------------------------------------------ JSON Schema (draft 2020-12)

def json_schema(record: Record) -> dict[str, Any]:
    """The JSON Schema of a record: what the parser accepts, as far as JSON Schema can say it."""
    properties = {f.name: _field_schema(f) for f in record.fields}
    return {"type": "object", "title": record.name, "description": record.description, "properties": properties,
            "required": [f.name for f in record.fields if f.required]}


def _field_schema(f: Field) -> dict[str, Any]:
    schema = _value_schema(f)
    schema["description"] = f.description
    if not f.required:  # the parser reads null as absent
        schema = {"anyOf": [schema, {"type": "null"}], "description": f.description}
    return schema


def _text_schema(max_len: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": TEXT_PATTERN}


def _value_schema(f: Field) -> dict[str, Any]:
    if f.kind == TEXT:
        return _text_schema(f.max_len)
    if f.kind == ENUM:
        return {"type": "string", "enum": list(f.allowed)}
    if f.kind == DATE:
        return {"type": "string", "format": "date", "pattern": DATE_SCHEMA_PATTERN}
    if f.kind == TIMESTAMP:
        return {"type": "string", "pattern": TIMESTAMP_SCHEMA_PATTERN}
    if f.kind == PERIOD:
        return {"type": "string", "pattern": periods.PATTERN, "maxLength": f.max_len}
    if f.kind == BOOLEAN:
        return {"type": "boolean"}
    if f.kind == INTEGER:
        schema: dict[str, Any] = {"type": "integer"}
        if f.minimum is not None:
            schema["minimum"] = f.minimum
        return schema
    if f.kind == BASE64:
        return {"type": "string", "contentEncoding": "base64", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"}
    if f.kind == PAIR_LIST:
        return {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}],
                                           "minItems": 2, "maxItems": 2}}
    items = json_schema(f.item) if f.kind == RECORD_LIST and f.item else _text_schema(f.max_len)
    schema = {"type": "array", "items": items, "maxItems": f.max_items}
    if f.non_empty:
        schema["minItems"] = 1
    return schema
