"""Validating the event contract: CloudEvent attributes to a typed ``InboundEvent``.

``parse_cloudevent`` reads one message with the codec (``models.cloudevents``)
and validates it; ``event_from_attributes`` validates attributes already read.
Either returns an ``InboundEvent`` or raises ``InvalidEvent`` whose ``reason``
names the field and what is wrong with it. Department codes are only checked
for shape here; whether a code exists is the service's business (it has the
registry).
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from typing import Any, Mapping, Sequence

from models import cloudevents as ce
from models import contract, periods
from models.clock import SHANGHAI
from models.cloudevents import SPECVERSION, json_kind
from models.contract import Field, Record
from models.events import (DEFAULT_MAX_BYTES, INPUT_TYPES, MAX_CODE, MAX_ID, MAX_LIST, MAX_SOURCE, OUTPUT_TYPES,
                           InboundEvent, InvalidEvent, Payload)

# ---------------------------------------------------------------- field readers

_DATE_RE = re.compile(contract.DATE_PATTERN)
_TIMESTAMP_RE = re.compile(contract.TIMESTAMP_PATTERN)
_EXTRA_DIGITS = re.compile(r"\.(\d{6})\d+")


class _Fields:
    """Reads typed fields out of a JSON object, naming ``prefix.field`` in every error."""

    def __init__(self, obj: Any, prefix: str):
        if not isinstance(obj, dict):
            raise InvalidEvent(f"{prefix} must be a JSON object, got {json_kind(obj)}")
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
        if type(value) is str and len(value) <= max_len and value.strip():  # valid: no name to build
            return value
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

    def period(self, field: str, *, required: bool = True) -> str | None:
        value = self.string(field, required=required, max_len=MAX_CODE)
        if value is None:
            return None
        try:
            periods.parse_period(value)
        except ValueError as exc:
            raise InvalidEvent(f"{self.name(field)} {exc}") from None
        return value

    def timestamp(self, field: str, *, required: bool = True) -> datetime | None:
        value = self._get(field, required)
        if value is None:
            return None
        return parse_timestamp(value, self.name(field))

    def boolean(self, field: str, *, required: bool = False) -> bool | None:
        value = self._get(field, required)
        if value is not None and not isinstance(value, bool):
            raise InvalidEvent(f"{self.name(field)} must be true or false, got {json_kind(value)}")
        return value

    def integer(self, field: str, *, required: bool = True, minimum: int | None = None) -> int | None:
        value = self._get(field, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEvent(f"{self.name(field)} must be a whole number, got {json_kind(value)}")
        if minimum is not None and value < minimum:
            raise InvalidEvent(f"{self.name(field)} must be at least {minimum}, got {value}")
        return value

    def string_list(self, field: str, *, required: bool, non_empty: bool, max_items: int = MAX_LIST,
                    max_len: int = MAX_ID) -> tuple[str, ...] | None:
        value = self._get(field, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidEvent(f"{self.name(field)} must be a list, got {json_kind(value)}")
        if non_empty and not value:
            raise InvalidEvent(f"{self.name(field)} must list at least one entry")
        if len(value) > max_items:
            raise InvalidEvent(f"oversized value: {self.name(field)} has {len(value)} entries, at most {max_items} allowed")
        if all(type(item) is str and len(item) <= max_len and item.strip() for item in value):
            return tuple(value)  # all valid: no names to build
        return tuple(check_string(item, f"{self.name(field)}[{i}]", max_len) for i, item in enumerate(value))

    def record_list(self, field: str, record: Record, *, required: bool, max_items: int) -> tuple | None:
        value = self._get(field, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidEvent(f"{self.name(field)} must be a list, got {json_kind(value)}")
        if len(value) > max_items:
            raise InvalidEvent(f"oversized value: {self.name(field)} has {len(value)} entries, "
                               f"at most {max_items} allowed")
        return tuple(read_record(record, item, f"{self.name(field)}[{i}]") for i, item in enumerate(value))


def check_string(value: Any, name: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} must be a string, got {json_kind(value)}")
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
    if "." in text:
        text = _EXTRA_DIGITS.sub(r".\1", text)  # Python keeps microseconds only
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"{name} is not a time that exists: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=SHANGHAI)


# ---------------------------------------------------------------- records of the contract

def read_record(record: Record, obj: Any, prefix: str) -> Any:
    """A record's dataclass from a JSON object, every field read and checked as ``models.contract`` says."""
    f = _Fields(obj, prefix)
    return record.build(**{field.name: _read_field(f, field) for field in record.fields})


def _read_field(f: _Fields, field: Field) -> Any:
    if field.kind == contract.TEXT:
        value = f.string(field.name, required=field.required, max_len=field.max_len)
    elif field.kind == contract.ENUM:
        value = f.enum(field.name, field.allowed, required=field.required)
    elif field.kind == contract.DATE:
        value = f.date(field.name, required=field.required)
    elif field.kind == contract.TIMESTAMP:
        value = f.timestamp(field.name, required=field.required)
    elif field.kind == contract.PERIOD:
        value = f.period(field.name, required=field.required)
    elif field.kind == contract.BOOLEAN:
        value = f.boolean(field.name, required=field.required)
    elif field.kind == contract.INTEGER:
        value = f.integer(field.name, required=field.required, minimum=field.minimum)
    elif field.kind == contract.TEXT_LIST:
        value = f.string_list(field.name, required=field.required, non_empty=field.non_empty,
                              max_items=field.max_items, max_len=field.max_len)
    elif field.kind == contract.RECORD_LIST:
        value = f.record_list(field.name, field.item, required=field.required, max_items=field.max_items)
    else:  # pragma: no cover - a contract mistake, found by the unit tests
        raise ValueError(f"unknown field kind {field.kind!r}")
    return field.default if value is None else value


PAYLOAD_PARSERS: dict[str, Record] = contract.PAYLOADS


# ---------------------------------------------------------------- envelope

def parse_cloudevent(value: bytes | None, headers: Sequence[tuple[str, bytes]] | None = None, *,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> InboundEvent:
    """One message (value and headers) to a validated ``InboundEvent`` (structured or binary mode)."""
    return _event(ce.decode(value, ce.normalise_headers(headers), max_bytes=max_bytes))


def event_from_attributes(attributes: Mapping[str, Any]) -> InboundEvent:
    """Validate a CloudEvent given as a mapping of attributes (``data`` included)."""
    ce.check_tree(dict(attributes), "")
    return _event(attributes)


def _event(attributes: Mapping[str, Any]) -> InboundEvent:
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
    data = read_record(PAYLOAD_PARSERS[event_type], attributes["data"], "data")
    return InboundEvent(id=event_id, source=source, type=event_type, time=time, subject=subject, data=data)


# ---------------------------------------------------------------- back to JSON

def payload_to_dict(data: Payload) -> dict[str, Any]:
    """The JSON ``data`` of an input payload; optional fields left out when absent."""
    return {k: v for k, v in ce.jsonable(data).items() if v is not None}


def to_cloudevent_dict(event: InboundEvent) -> dict[str, Any]:
    """A parsed event back to its structured-mode JSON object."""
    return ce.envelope(event.type, event.id, event.source, event.time, payload_to_dict(event.data), event.subject)


def build_cloudevent(type: str, source: str, data: Mapping[str, Any], id: str | None = None,
                     subject: str | None = None, time: datetime | None = None) -> dict[str, Any]:
    """A structured-mode CloudEvent as a dict, validated like an input when ``type`` is an input type.

    For publisher tools: an event built here is accepted by ``parse_cloudevent``
    or this raises ``InvalidEvent`` with the reason. ``time`` defaults to the
    system time: publishers stamp publication time.
    """
    if time is None:
        time = datetime.now(timezone.utc)
    result = ce.envelope(type, id or str(uuid.uuid4()), source, time, data, subject)
    if type in PAYLOAD_PARSERS:
        event_from_attributes(result)
    elif type not in OUTPUT_TYPES:
        raise InvalidEvent(f"unknown type {type!r}")
    return result
