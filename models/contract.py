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

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$"
# Not only blanks, and no control character but tab and newline (models.cloudevents refuses them).
TEXT_PATTERN = r"^(?=[\s\S]*\S)[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"


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
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    if f.kind == TIMESTAMP:
        return {"type": "string", "pattern": TIMESTAMP_PATTERN}
    if f.kind == PERIOD:
        return {"type": "string", "pattern": periods.PATTERN, "maxLength": f.max_len}
    if f.kind == BOOLEAN:
        return {"type": "boolean"}
    if f.kind == INTEGER:
        schema: dict[str, Any] = {"type": "integer"}
        if f.minimum is not None:
            schema["minimum"] = f.minimum
        return schema
    items = json_schema(f.item) if f.kind == RECORD_LIST and f.item else _text_schema(f.max_len)
    schema = {"type": "array", "items": items, "maxItems": f.max_items}
    if f.non_empty:
        schema["minItems"] = 1
    return schema
