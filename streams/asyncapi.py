"""The AsyncAPI 3.0 document of every topic the tracker reads and writes, generated from the code.

Channels and what each carries come from ``streams.topics``; each event
type's ``data`` schema comes from ``models.contract`` (the records the parser
reads inputs with, and the documentation records of the outputs), so the
document cannot drift from what the worker accepts and publishes. Served at
``GET /api/asyncapi.json``, written to ``docs/asyncapi.json`` by
``catalog-tracker asyncapi``, and summarised for people at ``/docs/events``.
"""
from __future__ import annotations

from typing import Any

from models import cloudevents as ce
from models import contract
from models import events as ev
from streams import topics

VERSION = "1"
TITLE = "catalog-tracker events"
DESCRIPTION = ("政务数据资源目录时限监督 — the events upstream systems publish to the tracker and the events it "
               "publishes (长沙市雨花区政务数据资源管理暂行办法). Every message value is a CloudEvents 1.0 event in "
               "structured JSON mode; binary mode (ce_* headers, data in the value) is accepted on input. Dates are "
               "ISO 8601, timestamps RFC 3339 (without an offset read as Asia/Shanghai). Topic names take the "
               "deployment's prefix (TRACKER_TOPIC_PREFIX, default none).")

DESCRIPTIONS = {
    topics.REGULATION_CHANGES: "The legal-affairs database: a law or regulation was revised (第十条).",
    topics.DUTY_CHANGES: "The staffing office: a department's administrative functions changed (第十条).",
    topics.CATALOG_UPDATES: "The catalog platform: a department submitted an update of its catalog.",
    topics.DATA_OBJECTIONS: "Data objections raised and resolved (第十三条).",
    topics.DATA_ACTIVITIES: "What a department did with a resource's data: aggregated, opened, shared.",
    topics.REMINDERS: "One reminder per stage per obligation, never repeated.",
    topics.VIOLATIONS: "One event per violation, never repeated, with the article and an explanation.",
    topics.OBLIGATIONS: "State changes of obligations, for dashboards that follow streams.",
    topics.DEAD_LETTERS: "Every input that could not be accepted: the original bytes and the reason.",
    "catalog.notifications.undeliverable": "Deliveries to people given up, with the server's answer.",
}


def _channel_id(topic: str) -> str:
    return topic.replace(".", "-")


def _message_id(event_type: str) -> str:
    return event_type.removeprefix("gov.catalog.").replace(".", "-")


def _record(event_type: str) -> contract.Record:
    return contract.PAYLOADS.get(event_type) or contract.OUTPUTS[event_type]


def envelope_schema(event_type: str, *, data_ref: str) -> dict[str, Any]:
    """The structured-mode CloudEvent carrying ``event_type`` with its data schema."""
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"const": ce.SPECVERSION},
            "id": {"type": "string", "minLength": 1, "maxLength": ev.MAX_ID,
                   "description": "unique per source; (source, id) is processed once"},
            "source": {"type": "string", "minLength": 1, "maxLength": ev.MAX_SOURCE,
                       "description": "URI of the producing system, e.g. /yuhua/legal-affairs"},
            "type": {"const": event_type},
            "time": {"type": "string", "pattern": contract.TIMESTAMP_SCHEMA_PATTERN,
                     "description": "RFC 3339 timestamp of publication"},
            "subject": {"type": "string", "maxLength": ev.MAX_CODE,
                        "description": "the department code the event is about, when it is about one"},
            "datacontenttype": {"type": "string"},
            "data": {"$ref": data_ref},
        },
    }


def data_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one event type's ``data``."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **contract.json_schema(_record(event_type))}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic, types in topics.TYPES_OF_TOPIC.items():
        channel_id = _channel_id(topic)
        channel_messages = {}
        for event_type in types:
            message_id = _message_id(event_type)
            record = _record(event_type)
            schemas[f"{record.name}Data"] = contract.json_schema(record)
            schemas[f"{record.name}Event"] = envelope_schema(event_type,
                                                             data_ref=f"#/components/schemas/{record.name}Data")
            messages[message_id] = {
                "name": event_type, "title": record.name, "summary": record.description,
                "contentType": ce.STRUCTURED_CONTENT_TYPE,
                "payload": {"$ref": f"#/components/schemas/{record.name}Event"},
                "headers": {"type": "object", "properties": {
                    ce.CONTENT_TYPE_HEADER: {"type": "string", "const": ce.STRUCTURED_CONTENT_TYPE}}},
                "bindings": {"kafka": {"key": {"type": "string", "description":
                                               "the department code where there is one"},
                                       "bindingVersion": "0.5.0"}},
            }
            channel_messages[message_id] = {"$ref": f"#/components/messages/{message_id}"}
        channels[channel_id] = {"address": topic, "description": DESCRIPTIONS.get(topic, ""),
                                "messages": channel_messages,
                                "bindings": {"kafka": {"topic": topic, "bindingVersion": "0.5.0"}}}
        inbound = topic in topics.INPUT_TOPICS
        operations[f"{'receive' if inbound else 'send'}-{channel_id}"] = {
            "action": "receive" if inbound else "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": ("The tracker reads and judges these." if inbound
                        else "The tracker publishes these; subscribe to follow them."),
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel_messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "defaultContentType": ce.STRUCTURED_CONTENT_TYPE,
        "servers": {"kafka": {"host": "127.0.0.1:19092", "protocol": "kafka",
                              "description": "KAFKA_BOOTSTRAP_SERVERS of the deployment (the bundled broker's "
                                             "default shown)"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
