"""Checks a message the tracker published against the AsyncAPI document's schema for its type.

Used by the e2e harness on every output it reads, and by the unit tests of the document: a published event must
validate against its schema and use no data field the document does not describe.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from streams import asyncapi


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return asyncapi.document()


@lru_cache(maxsize=64)
def _validator(event_type: str) -> tuple[Draft202012Validator, frozenset[str]] | None:
    document = _document()
    message = next((m for m in document["components"]["messages"].values() if m["name"] == event_type), None)
    if message is None:
        return None
    schemas = document["components"]["schemas"]
    ref = message["payload"]["$ref"]
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": {"schemas": schemas},
            "$ref": ref}
    data_schema = schemas[ref.rsplit("/", 1)[1].removesuffix("Event") + "Data"]
    return (Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER),
            frozenset(data_schema["properties"]))


def problems(event: dict[str, Any]) -> list[str]:
    """What is wrong with ``event`` as the document describes its type (empty: nothing)."""
    checked = _validator(str(event.get("type")))
    if checked is None:
        return [f"type {event.get('type')!r} is not in the AsyncAPI document"]
    validator, described = checked
    found = [f"{event.get('id')}: {'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}"
             for e in validator.iter_errors(event)]
    extra = set(event.get("data") or {}) - described
    if extra:
        found.append(f"{event.get('id')}: data fields not in the document: {sorted(extra)}")
    return found


def message_problems(value: bytes) -> list[str]:
    """``problems`` of a structured-mode message value."""
    try:
        event = json.loads(value)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    return problems(event) if isinstance(event, dict) else ["not a JSON object"]
