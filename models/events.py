"""The event contract of ``shared/EVENTS.md`` as plain Python.

Upstream systems publish CloudEvents 1.0 (structured JSON mode, or binary mode
with ``ce_*`` Kafka headers). ``parse_cloudevent`` turns one Kafka message into
a typed ``InboundEvent`` or raises ``InvalidEvent`` whose ``reason`` names the
field that is wrong, so a dead letter tells the producing team what to fix.

Department codes are only checked for shape here; whether a code exists is the
service's business (it has the registry).
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from models.clock import SHANGHAI

# ---------------------------------------------------------------- constants

SPECVERSION = "1.0"
TRACKER_SOURCE = "/yuhua/catalog-tracker"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"

REGULATION_CHANGED = "gov.catalog.regulation.changed"
DUTY_CHANGED = "gov.catalog.duty.changed"
CATALOG_UPDATED = "gov.catalog.catalog.updated"
OBJECTION_RAISED = "gov.catalog.objection.raised"
OBJECTION_RESOLVED = "gov.catalog.objection.resolved"

REMINDER = "gov.catalog.obligation.reminder"
VIOLATION_DETECTED = "gov.catalog.violation.detected"
OBLIGATION_OPENED = "gov.catalog.obligation.opened"
OBLIGATION_COMPLETED = "gov.catalog.obligation.completed"
OBLIGATION_RESCHEDULED = "gov.catalog.obligation.rescheduled"
OBLIGATION_CANCELLED = "gov.catalog.obligation.cancelled"
EVENT_REJECTED = "gov.catalog.event.rejected"

# Logical topic names, without the configurable prefix.
TOPIC_REGULATION_CHANGES = "catalog.regulation-changes"
TOPIC_DUTY_CHANGES = "catalog.duty-changes"
TOPIC_CATALOG_UPDATES = "catalog.catalog-updates"
TOPIC_DATA_OBJECTIONS = "catalog.data-objections"
TOPIC_REMINDERS = "catalog.notifications.reminders"
TOPIC_VIOLATIONS = "catalog.notifications.violations"
TOPIC_OBLIGATIONS = "catalog.obligations"
TOPIC_DEAD_LETTERS = "catalog.dead-letters"

TOPIC_OF_TYPE: dict[str, str] = {
    REGULATION_CHANGED: TOPIC_REGULATION_CHANGES,
    DUTY_CHANGED: TOPIC_DUTY_CHANGES,
    CATALOG_UPDATED: TOPIC_CATALOG_UPDATES,
    OBJECTION_RAISED: TOPIC_DATA_OBJECTIONS,
    OBJECTION_RESOLVED: TOPIC_DATA_OBJECTIONS,
    REMINDER: TOPIC_REMINDERS,
    VIOLATION_DETECTED: TOPIC_VIOLATIONS,
    OBLIGATION_OPENED: TOPIC_OBLIGATIONS,
    OBLIGATION_COMPLETED: TOPIC_OBLIGATIONS,
    OBLIGATION_RESCHEDULED: TOPIC_OBLIGATIONS,
    OBLIGATION_CANCELLED: TOPIC_OBLIGATIONS,
    EVENT_REJECTED: TOPIC_DEAD_LETTERS,
}
INPUT_TYPES: tuple[str, ...] = (REGULATION_CHANGED, DUTY_CHANGED, CATALOG_UPDATED, OBJECTION_RAISED, OBJECTION_RESOLVED)
INPUT_TOPICS: tuple[str, ...] = (TOPIC_REGULATION_CHANGES, TOPIC_DUTY_CHANGES, TOPIC_CATALOG_UPDATES, TOPIC_DATA_OBJECTIONS)
OUTPUT_TOPICS: tuple[str, ...] = (TOPIC_REMINDERS, TOPIC_VIOLATIONS, TOPIC_OBLIGATIONS, TOPIC_DEAD_LETTERS)

SHARE_TYPES = ("unconditional", "conditional", "none")
OPEN_TYPES = ("unconditional", "conditional", "none")
RESOURCE_ACTIONS = ("added", "modified", "removed")
REGULATION_CHANGE_KINDS = ("enacted", "amended", "repealed")
DUTY_CHANGE_KINDS = ("added", "removed", "transferred", "merged", "split")

# Length limits: anything longer is an "oversized value" and is dead-lettered.
MAX_ID = 256
MAX_SOURCE = 512
MAX_CODE = 64
MAX_TITLE = 1000
MAX_TEXT = 4000
MAX_LIST = 1000
MAX_RESOURCES = 5000
DEFAULT_MAX_BYTES = 1_048_576


class InvalidEvent(ValueError):
    """An input that cannot be accepted; ``reason`` is human-readable and names the field."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- payloads

@dataclass(frozen=True)
class RegulationChanged:
    regulation_id: str
    title: str
    change_kind: str
    changed_on: date
    affected_departments: tuple[str, ...]

    def departments(self) -> tuple[str, ...]:
        """Every affected department once, in order (a code listed twice owes one update)."""
        return tuple(dict.fromkeys(self.affected_departments))


@dataclass(frozen=True)
class DutyChanged:
    department: str
    changed_on: date
    change_kind: str
    description: str
    counterpart_departments: tuple[str, ...] = ()

    def departments(self) -> tuple[str, ...]:
        """The department and every counterpart, each once, in order."""
        return tuple(dict.fromkeys((self.department, *self.counterpart_departments)))


@dataclass(frozen=True)
class ResourceChange:
    code: str
    action: str
    name: str | None = None
    share_type: str | None = None
    previous_share_type: str | None = None
    open_type: str | None = None
    previous_open_type: str | None = None
    contains_personal_info: bool = False
    desensitized: bool = False
    approval_ref: str | None = None


@dataclass(frozen=True)
class CatalogUpdated:
    department: str
    submitted_at: datetime
    catalog_version: str
    resolves: tuple[str, ...] | None = None
    resources: tuple[ResourceChange, ...] = ()

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


@dataclass(frozen=True)
class ObjectionRaised:
    objection_id: str
    department: str
    resource_code: str
    raised_on: date
    raised_by: str | None = None

    def departments(self) -> tuple[str, ...]:
        return (self.department,) if self.raised_by is None else tuple(dict.fromkeys((self.department, self.raised_by)))


@dataclass(frozen=True)
class ObjectionResolved:
    objection_id: str
    department: str
    resource_code: str
    resolved_at: datetime

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


Payload = RegulationChanged | DutyChanged | CatalogUpdated | ObjectionRaised | ObjectionResolved


@dataclass(frozen=True)
class InboundEvent:
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None
    data: Payload

    @property
    def key(self) -> tuple[str, str]:
        """Deduplication key: the same source and id are processed once."""
        return (self.source, self.id)

    def start_day(self) -> date:
        """The day the policy in force is looked up for (and deadlines count from)."""
        data = self.data
        if isinstance(data, (RegulationChanged, DutyChanged)):
            return data.changed_on
        if isinstance(data, CatalogUpdated):
            return data.submitted_at.astimezone(SHANGHAI).date()
        if isinstance(data, ObjectionRaised):
            return data.raised_on
        return data.resolved_at.astimezone(SHANGHAI).date()

    def departments(self) -> tuple[str, ...]:
        """Every department code the event names (the service checks them against the registry)."""
        return self.data.departments()


# ---------------------------------------------------------------- field readers

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$")


class _Fields:
    """Reads typed fields out of a JSON object, naming ``prefix.field`` in every error."""

    def __init__(self, obj: Any, prefix: str):
        if not isinstance(obj, dict):
            raise InvalidEvent(f"{prefix} must be a JSON object, got {_json_kind(obj)}")
        self.obj = obj
        self.prefix = prefix

    def name(self, field: str) -> str:
        return f"{self.prefix}.{field}" if self.prefix else field

    def _get(self, field: str, required: bool) -> Any:
        if field not in self.obj or self.obj[field] is None:
            if required:
                raise InvalidEvent(f"missing required field {self.name(field)}")
            return None
        return self.obj[field]

    def string(self, field: str, *, required: bool = True, max_len: int = MAX_ID) -> str | None:
        value = self._get(field, required)
        if value is None:
            return None
        return check_string(value, self.name(field), max_len)

    def enum(self, field: str, allowed: Sequence[str], *, required: bool = True) -> str | None:
        value = self.string(field, required=required, max_len=MAX_CODE)
        if value is not None and value not in allowed:
            raise InvalidEvent(f"{self.name(field)} must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def date(self, field: str, *, required: bool = True) -> date | None:
        value = self._get(field, required)
        if value is None:
            return None
        return parse_date(value, self.name(field))

    def timestamp(self, field: str, *, required: bool = True) -> datetime | None:
        value = self._get(field, required)
        if value is None:
            return None
        return parse_timestamp(value, self.name(field))

    def boolean(self, field: str, default: bool = False) -> bool:
        value = self._get(field, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InvalidEvent(f"{self.name(field)} must be true or false, got {_json_kind(value)}")
        return value

    def string_list(self, field: str, *, required: bool, non_empty: bool, max_items: int = MAX_LIST,
                    max_len: int = MAX_ID) -> tuple[str, ...] | None:
        value = self._get(field, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidEvent(f"{self.name(field)} must be a list, got {_json_kind(value)}")
        if non_empty and not value:
            raise InvalidEvent(f"{self.name(field)} must list at least one entry")
        if len(value) > max_items:
            raise InvalidEvent(f"oversized value: {self.name(field)} has {len(value)} entries, at most {max_items} allowed")
        return tuple(check_string(item, f"{self.name(field)}[{i}]", max_len) for i, item in enumerate(value))


def check_string(value: Any, name: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} must be a string, got {_json_kind(value)}")
    if not value.strip():
        raise InvalidEvent(f"{name} must not be empty")
    if len(value) > max_len:
        raise InvalidEvent(f"oversized value: {name} has {len(value)} characters, at most {max_len} allowed")
    return value


def parse_date(value: Any, name: str) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise InvalidEvent(f"{name} must be an ISO 8601 date like 2026-03-02, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(f"{name} is not a date that exists: {value!r}") from None


def parse_timestamp(value: Any, name: str) -> datetime:
    """RFC 3339 timestamp; without an offset it is read as Asia/Shanghai."""
    if not isinstance(value, str) or not _TIMESTAMP_RE.match(value):
        raise InvalidEvent(f"{name} must be an RFC 3339 timestamp like 2026-03-02T10:00:00+08:00, got {value!r}")
    text = value.replace("z", "Z").replace("Z", "+00:00")
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)  # Python keeps microseconds only
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"{name} is not a time that exists: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=SHANGHAI)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ---------------------------------------------------------------- payload parsers

def _regulation_changed(f: _Fields) -> RegulationChanged:
    return RegulationChanged(
        regulation_id=f.string("regulation_id"),
        title=f.string("title", max_len=MAX_TITLE),
        change_kind=f.enum("change_kind", REGULATION_CHANGE_KINDS),
        changed_on=f.date("changed_on"),
        affected_departments=f.string_list("affected_departments", required=True, non_empty=True, max_len=MAX_CODE),
    )


def _duty_changed(f: _Fields) -> DutyChanged:
    return DutyChanged(
        department=f.string("department", max_len=MAX_CODE),
        changed_on=f.date("changed_on"),
        change_kind=f.enum("change_kind", DUTY_CHANGE_KINDS),
        description=f.string("description", max_len=MAX_TEXT),
        counterpart_departments=f.string_list("counterpart_departments", required=False, non_empty=False,
                                              max_len=MAX_CODE) or (),
    )


def _resource(obj: Any, prefix: str) -> ResourceChange:
    f = _Fields(obj, prefix)
    return ResourceChange(
        code=f.string("code", max_len=MAX_ID),
        action=f.enum("action", RESOURCE_ACTIONS),
        name=f.string("name", required=False, max_len=MAX_TITLE),
        share_type=f.enum("share_type", SHARE_TYPES, required=False),
        previous_share_type=f.enum("previous_share_type", SHARE_TYPES, required=False),
        open_type=f.enum("open_type", OPEN_TYPES, required=False),
        previous_open_type=f.enum("previous_open_type", OPEN_TYPES, required=False),
        contains_personal_info=f.boolean("contains_personal_info"),
        desensitized=f.boolean("desensitized"),
        approval_ref=f.string("approval_ref", required=False, max_len=MAX_TITLE),
    )


def _catalog_updated(f: _Fields) -> CatalogUpdated:
    raw_resources = f._get("resources", False)
    resources: tuple[ResourceChange, ...] = ()
    if raw_resources is not None:
        if not isinstance(raw_resources, list):
            raise InvalidEvent(f"{f.name('resources')} must be a list, got {_json_kind(raw_resources)}")
        if len(raw_resources) > MAX_RESOURCES:
            raise InvalidEvent(f"oversized value: {f.name('resources')} has {len(raw_resources)} entries, "
                               f"at most {MAX_RESOURCES} allowed")
        resources = tuple(_resource(item, f"{f.name('resources')}[{i}]") for i, item in enumerate(raw_resources))
    return CatalogUpdated(
        department=f.string("department", max_len=MAX_CODE),
        submitted_at=f.timestamp("submitted_at"),
        catalog_version=f.string("catalog_version", max_len=MAX_ID),
        resolves=f.string_list("resolves", required=False, non_empty=True),
        resources=resources,
    )


def _objection_raised(f: _Fields) -> ObjectionRaised:
    return ObjectionRaised(
        objection_id=f.string("objection_id"),
        department=f.string("department", max_len=MAX_CODE),
        resource_code=f.string("resource_code"),
        raised_on=f.date("raised_on"),
        raised_by=f.string("raised_by", required=False, max_len=MAX_CODE),
    )


def _objection_resolved(f: _Fields) -> ObjectionResolved:
    return ObjectionResolved(
        objection_id=f.string("objection_id"),
        department=f.string("department", max_len=MAX_CODE),
        resource_code=f.string("resource_code"),
        resolved_at=f.timestamp("resolved_at"),
    )


PAYLOAD_PARSERS: dict[str, Callable[[_Fields], Payload]] = {
    REGULATION_CHANGED: _regulation_changed,
    DUTY_CHANGED: _duty_changed,
    CATALOG_UPDATED: _catalog_updated,
    OBJECTION_RAISED: _objection_raised,
    OBJECTION_RESOLVED: _objection_resolved,
}


# ---------------------------------------------------------------- envelope

def parse_cloudevent(value: bytes | None, headers: Sequence[tuple[str, bytes]] | None = None, *,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> InboundEvent:
    """One Kafka message (value and headers) to a validated ``InboundEvent``.

    Structured mode: the value is the whole CloudEvent. Binary mode (a
    ``ce_specversion`` header is present): attributes come from ``ce_*``
    headers and the value is the JSON ``data``.
    """
    if value is None:
        raise InvalidEvent("the message has no value")
    if len(value) > max_bytes:
        raise InvalidEvent(f"oversized value: the message has {len(value)} bytes, at most {max_bytes} allowed")
    header_map = _header_map(headers or ())
    decoded = _decode_json(value)
    if "ce_specversion" in header_map:
        attributes: dict[str, Any] = {name[3:]: text for name, text in header_map.items() if name.startswith("ce_")}
        attributes["data"] = decoded
    else:
        if not isinstance(decoded, dict):
            raise InvalidEvent(f"the message is not a CloudEvent: expected a JSON object, got {_json_kind(decoded)}")
        attributes = decoded
    return event_from_attributes(attributes)


def event_from_attributes(attributes: Mapping[str, Any]) -> InboundEvent:
    """Validate a CloudEvent given as a mapping of attributes (``data`` included)."""
    f = _Fields(dict(attributes), "")
    specversion = f._get("specversion", True)
    if specversion != SPECVERSION:
        raise InvalidEvent(f"specversion must be \"1.0\", got {specversion!r}")
    event_id = f.string("id", max_len=MAX_ID)
    source = f.string("source", max_len=MAX_SOURCE)
    event_type = f.string("type", max_len=MAX_ID)
    if event_type not in PAYLOAD_PARSERS:
        raise InvalidEvent(f"unknown type {event_type!r}; expected one of {', '.join(INPUT_TYPES)}")
    time = f.timestamp("time")
    subject = f.string("subject", required=False, max_len=MAX_CODE)
    if "data" not in attributes or attributes["data"] is None:
        raise InvalidEvent("missing required field data")
    data = PAYLOAD_PARSERS[event_type](_Fields(attributes["data"], "data"))
    return InboundEvent(id=event_id, source=source, type=event_type, time=time, subject=subject, data=data)


def _header_map(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, raw in headers:
        key = name.lower() if isinstance(name, str) else bytes(name).decode("utf-8", "replace").lower()
        if raw is None:
            continue
        try:
            result[key] = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)
        except UnicodeDecodeError:
            raise InvalidEvent(f"header {key} is not UTF-8") from None
    return result


def _decode_json(value: bytes) -> Any:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"the message is not JSON: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"the message is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


# ---------------------------------------------------------------- writing events

def format_timestamp(value: datetime) -> str:
    """RFC 3339 in Asia/Shanghai (+08:00), the zone every reader of this system works in."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(SHANGHAI).isoformat()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple) or isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def payload_to_dict(data: Payload) -> dict[str, Any]:
    """The JSON ``data`` of an input payload; optional fields left out when absent."""
    result = _jsonable(data)
    return {k: v for k, v in result.items() if v is not None}


def to_cloudevent_dict(event: InboundEvent) -> dict[str, Any]:
    """A parsed event back to its structured-mode JSON object."""
    result: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": format_timestamp(event.time),
        "datacontenttype": "application/json",
        "data": payload_to_dict(event.data),
    }
    if event.subject is not None:
        result["subject"] = event.subject
    return result


def build_cloudevent(type: str, source: str, data: Mapping[str, Any], id: str | None = None,
                     subject: str | None = None, time: datetime | None = None) -> dict[str, Any]:
    """A structured-mode CloudEvent as a dict, validated like an input when ``type`` is an input type.

    Usable by publisher tools (issue 5): an event built here is accepted by
    ``parse_cloudevent`` or this raises ``InvalidEvent`` with the reason.
    ``time`` defaults to the system time: publishers stamp publication time.
    """
    if time is None:
        time = datetime.now(timezone.utc)
    result: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": format_timestamp(time),
        "datacontenttype": "application/json",
        "data": _jsonable(dict(data)),
    }
    if subject is not None:
        result["subject"] = subject
    if type in PAYLOAD_PARSERS:
        event_from_attributes(result)
    elif type not in TOPIC_OF_TYPE:
        raise InvalidEvent(f"unknown type {type!r}")
    return result


def encode_cloudevent(event: Mapping[str, Any]) -> bytes:
    """Structured-mode bytes: compact UTF-8 JSON with Chinese kept readable."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode("utf-8")
