"""The one CloudEvents codec: JSON values, structured and binary mode, headers and timestamps.

EVENTS.md's envelope is CloudEvents 1.0 in structured JSON mode, with binary
mode (attributes in ``ce_*`` headers, data in the value) accepted too. This
module turns message bytes and headers into a mapping of attributes (and
back), and nothing more; ``models.validation`` checks what the attributes say.
Headers are plain ``(name, bytes)`` pairs: no client library is involved.

Content mode follows the CloudEvents Kafka binding: a ``content-type`` header
starting with ``application/cloudevents`` means structured mode, whatever
``ce_*`` headers ride along; otherwise a ``ce_specversion`` header means binary
mode; a message with neither is read as structured mode.

JSON is read strictly, so that nothing reaches storage that it cannot hold or
that another JSON reader would read differently: ``NaN``/``Infinity``, numbers
that overflow, duplicate keys, nesting deeper than ``MAX_DEPTH``, integers of
more than ``MAX_INT_DIGITS`` digits, lone surrogates, NUL and other control
characters (except tab and newline) are refused with a plain reason naming
where they are.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from models.clock import SHANGHAI
from models.events import InvalidEvent

SPECVERSION = "1.0"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
JSON_CONTENT_TYPE = "application/json"
CONTENT_TYPE_HEADER = "content-type"
BINARY_PREFIX = "ce_"

MAX_DEPTH = 32
MAX_INT_DIGITS = 20

Headers = tuple[tuple[str, bytes], ...]

# C0 controls but tab and newline, DEL, C1 controls: text no reader expects and PostgreSQL cannot hold (NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# ------------------------------------------------------------------ strict JSON

def loads(value: bytes, what: str = "the message", where: str = "") -> Any:
    """Strict JSON from UTF-8 bytes; ``InvalidEvent`` with a plain reason otherwise.

    ``where``: the name of the decoded value in reasons (``data`` for binary-mode data)."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"{what} is not JSON: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        decoded = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int,
                             parse_float=_finite_float, object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")  # "Invalid control character at" + " at line …" read "at at"
        raise InvalidEvent(f"{what} is not JSON: {reason} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidEvent(f"{what} nests JSON deeper than {MAX_DEPTH} levels") from None
    if not _plainly_fine(text):
        check_tree(decoded, where)
    return decoded


# Raw control characters but the JSON whitespace ones (tab, newline, carriage return), DEL, C1 controls.
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _plainly_fine(text: str) -> bool:
    """True when no value decoded from the JSON ``text`` can fail ``check_tree``: a cheap look at the text.

    Without a backslash no string can hold an escaped character; valid UTF-8 holds no lone surrogate; raw
    control characters (but JSON whitespace, which ``json`` refuses inside strings) would have to be in a string;
    and fewer than ``MAX_DEPTH`` brackets cannot nest deeper than that. Otherwise ``check_tree`` judges.
    """
    return ("\\" not in text and text.count("{") + text.count("[") <= MAX_DEPTH
            and _RAW_CONTROL.search(text) is None)


def _refuse_constant(name: str) -> Any:
    raise InvalidEvent(f"the message is not strict JSON: {name} is not a JSON number")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise InvalidEvent(f"the message has an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidEvent(f"the message has a number that overflows: {text[:40]}")
    return number


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise InvalidEvent(f"the message has the key {_shown(key)} twice in one JSON object")
        result[key] = item
    return result


def check_tree(value: Any, where: str, depth: int = 0) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and text storage cannot hold, naming the place."""
    if depth > MAX_DEPTH:
        raise InvalidEvent(f"the message nests JSON deeper than {MAX_DEPTH} levels (at {where or 'the top'})")
    if isinstance(value, str):
        check_text(value, where or "the message")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            check_text(key, f"a key in {where or 'the message'}")
            check_tree(item, name, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_tree(item, f"{where}[{i}]", depth + 1)


_UNFIT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(text: str, name: str) -> None:
    """Text must be valid Unicode without control characters other than tab and newline."""
    if _UNFIT.search(text) is None:  # one look for the usual text; the reason is found below otherwise
        return
    surrogate = _SURROGATE.search(text)
    if surrogate:
        raise InvalidEvent(f"{name} contains a lone surrogate (\\u{ord(surrogate.group()):04x}) at character "
                           f"{surrogate.start() + 1}: text must be valid Unicode")
    control = _CONTROL.search(text)
    if control:
        code = ord(control.group())
        what = "NUL" if code == 0 else "a control character"
        raise InvalidEvent(f"{name} contains {what} (\\u{code:04x}) at character {control.start() + 1}: "
                           f"only tab and newline are allowed")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


# ------------------------------------------------------------------ headers

def normalise_headers(headers: Any) -> Headers:
    """Kafka headers as (name, bytes) pairs, whatever the client library gave (a list, a dict, str values)."""
    if not headers:
        return ()
    items = headers.items() if hasattr(headers, "items") else headers
    result = []
    for name, value in items:
        if isinstance(name, (bytes, bytearray)):
            name = bytes(name).decode("utf-8", "replace")
        if value is None:
            value = b""
        elif isinstance(value, str):
            value = value.encode("utf-8")
        result.append((str(name), bytes(value)))
    return tuple(result)


def header_text(headers: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """``content-type`` and ``ce_*`` headers (names in lower case) to their text; strict like the value."""
    result: dict[str, str] = {}
    for name, raw in headers:
        key = name.lower()
        if key != CONTENT_TYPE_HEADER and not key.startswith(BINARY_PREFIX):
            continue  # tracing and other headers are not ours to judge
        try:
            text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)
        except UnicodeDecodeError:
            raise InvalidEvent(f"header {key} is not UTF-8") from None
        if key in result and key.startswith(BINARY_PREFIX):
            raise InvalidEvent(f"header {key} is given twice")
        check_text(text, f"header {key}")
        result[key] = text
    return result


def is_structured(header_map: Mapping[str, str]) -> bool:
    """The Kafka binding's rule: structured unless there is no cloudevents content type and a ce_specversion."""
    content_type = header_map.get(CONTENT_TYPE_HEADER, "").strip().lower()
    if content_type.startswith("application/cloudevents"):
        return True
    return f"{BINARY_PREFIX}specversion" not in header_map


# ------------------------------------------------------------------ decoding

def decode(value: bytes | None, headers: Sequence[tuple[str, bytes]] = (), *, max_bytes: int) -> dict[str, Any]:
    """One message (value and headers) to its CloudEvent attributes, ``data`` included; strict."""
    if value is None:
        raise InvalidEvent("the message has no value")
    if len(value) > max_bytes:
        raise InvalidEvent(f"oversized value: the message has {len(value)} bytes, at most {max_bytes} allowed")
    header_map = header_text(headers)
    if is_structured(header_map):
        content_type = header_map.get(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE).strip().lower()
        if content_type.startswith("application/cloudevents") and not content_type.startswith(STRUCTURED_CONTENT_TYPE):
            raise InvalidEvent(f"content-type {header_map[CONTENT_TYPE_HEADER]!r} is not supported; "
                               f"send one event per message as {STRUCTURED_CONTENT_TYPE}")
        decoded = loads(value)
        if not isinstance(decoded, dict):
            raise InvalidEvent(f"the message is not a CloudEvent: expected a JSON object, got {json_kind(decoded)}")
        return decoded
    content_type = header_map.get(CONTENT_TYPE_HEADER)
    if content_type is not None and not _is_json_type(content_type):
        raise InvalidEvent(f"binary mode: content-type {content_type!r} is not JSON; the data must be "
                           f"{JSON_CONTENT_TYPE}")
    attributes: dict[str, Any] = {name[len(BINARY_PREFIX):]: text for name, text in header_map.items()
                                  if name.startswith(BINARY_PREFIX)}
    if "data" in attributes:
        raise InvalidEvent("binary mode: a ce_data header is not allowed; the data is the message value")
    attributes["data"] = loads(value, "the binary-mode data", where="data")
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    return attributes


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON_CONTENT_TYPE or media.endswith("+json")


def read_leniently(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> dict[str, Any]:
    """For readers of our own outputs (watch, replay): the attributes, or ``{"type": "", "raw": text}``."""
    text = (value or b"").decode("utf-8", "replace")
    try:
        header_map = {name.lower(): raw.decode("utf-8", "replace") for name, raw in headers if raw is not None}
        decoded = json.loads(text)
    except (ValueError, AttributeError):
        decoded, header_map = None, {}
    if not is_structured(header_map):
        event = {name[len(BINARY_PREFIX):]: v for name, v in header_map.items() if name.startswith(BINARY_PREFIX)}
        event["data"] = decoded
        return event
    return decoded if isinstance(decoded, dict) else {"type": "", "raw": text}


def event_id(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> str | None:
    """The CloudEvents id of a message: from the value in structured mode, else the ``ce_id`` header."""
    found = read_leniently(value, headers).get("id")
    if not isinstance(found, str):
        found = next((raw.decode("utf-8", "replace") for name, raw in headers
                      if name.lower() == f"{BINARY_PREFIX}id" and raw is not None), None)
    return found


def json_kind(value: Any) -> str:
    """How a reason names a JSON value's kind."""
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


# ------------------------------------------------------------------ encoding

_STAMPS: dict[datetime, str] = {}  # instant -> its text: a batch's events share "now" and a few deadlines


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in Asia/Shanghai (+08:00), the zone every reader of this system works in."""
    text = _STAMPS.get(value)  # aware datetimes are equal when they are the same instant: the same text
    if text is not None:
        return text
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    text = value.astimezone(SHANGHAI).isoformat()
    if len(_STAMPS) >= 4096:
        _STAMPS.clear()
    _STAMPS[value] = text
    return text


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Plain JSON values: instants as RFC 3339 +08:00, dates ISO 8601, tuples/sets as lists, dataclasses as objects."""
    kind = type(value)
    if kind in _PLAIN:  # the common case first, by exact type (subclasses take the general path below)
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return value


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: json.dumps builds one per call


def dumps(value: Any) -> str:
    """Compact JSON text with Chinese kept readable."""
    return _COMPACT.encode(jsonable(value))


class JsonObject(dict):
    """A dict built of plain JSON values only (``envelope``'s): ``encode`` writes it without walking it again."""


def envelope(type: str, id: str, source: str, time: datetime, data: Mapping[str, Any],
             subject: str | None = None) -> dict[str, Any]:
    """A structured-mode CloudEvent as a dict (``data`` made JSON-able)."""
    event: dict[str, Any] = JsonObject(specversion=SPECVERSION, id=id, source=source, type=type,
                                       time=format_timestamp(time), datacontenttype=JSON_CONTENT_TYPE,
                                       data=jsonable(dict(data)))
    if subject is not None:
        event["subject"] = subject
    return event


def encode(event: Mapping[str, Any]) -> bytes:
    """Structured-mode bytes: compact UTF-8 JSON."""
    if type(event) is JsonObject:
        try:
            return _COMPACT.encode(event).encode("utf-8")
        except TypeError:  # something not JSON was put in it since: the general path below
            pass
    return dumps(event).encode("utf-8")


STRUCTURED_HEADERS: Headers = ((CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode("ascii")),)


def encode_structured(event: Mapping[str, Any]) -> tuple[bytes, Headers]:
    """Value and headers of a structured-mode message: the content type and no ``ce_*`` header.

    The binding forbids mixing: the official SDK reads ``ce_*`` headers as binary mode and then
    misses the attributes only the value holds.
    """
    return encode(event), STRUCTURED_HEADERS
