"""A small publisher library for upstream systems (the legal-affairs database,
the staffing office, the catalog platform).

Upstream engineers import ``EventPublisher`` instead of hand-writing CloudEvents:
it builds the event, validates it with exactly the parser the tracker's worker
uses (``models.validation.parse_cloudevent`` on the very bytes that will be sent),
and only then sends it in structured JSON mode with the
``content-type: application/cloudevents+json`` header and the department code
as the message key. An invalid event raises ``InvalidEvent`` with the reason
and nothing is sent, so a mistake is found at the producer, not in the
tracker's dead-letter topic.

The Kafka producer is injected (``producer=``) so the validation is testable
without a broker; by default a kafka-python ``KafkaProducer`` is created.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Collection, Iterable, Mapping, Protocol, Sequence

from models import cloudevents as ce
from models import events as ev
from models import validation
from streams import topics

DEFAULT_SOURCE = "/yuhua/upstream"
CONTENT_TYPE_HEADER = ce.CONTENT_TYPE_HEADER


class KafkaSender(Protocol):
    """The part of kafka-python's ``KafkaProducer`` the publisher needs."""

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None): ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True)
class PublishedEvent:
    """What was sent: the CloudEvent, the full topic name, the key and where it landed."""

    event: dict[str, Any]
    topic: str
    key: str | None
    partition: int | None = None
    offset: int | None = None

    @property
    def id(self) -> str:
        return self.event["id"]


def message_key(event: Mapping[str, Any]) -> str | None:
    """The department code the event is about: ``subject``, else ``data.department``.

    A regulation change names several departments and has no single key; it is
    sent without one (EVENTS.md: the key is the department code *where there is one*).
    """
    subject = event.get("subject")
    if isinstance(subject, str) and subject:
        return subject
    department = (event.get("data") or {}).get("department")
    return department if isinstance(department, str) and department else None


def validate_event(event: Mapping[str, Any], *, departments: Collection[str] | None = None,
                   max_bytes: int = ev.DEFAULT_MAX_BYTES) -> tuple[bytes, ev.InboundEvent]:
    """Encode and validate as the worker will; returns the bytes to send and the parsed event.

    ``departments``: the registry's codes; when given, an unknown code is refused
    here too (the worker would dead-letter it).
    """
    if event.get("type") not in ev.INPUT_TYPES:
        raise ev.InvalidEvent(f"unknown type {event.get('type')!r}; expected one of {', '.join(ev.INPUT_TYPES)}")
    value = ce.encode(event)
    parsed = validation.parse_cloudevent(value, ce.STRUCTURED_HEADERS, max_bytes=max_bytes)
    if departments is not None:
        unknown = [code for code in parsed.departments() if code not in departments]
        if unknown:
            raise ev.InvalidEvent(f"unknown department code(s) {', '.join(unknown)}: not in the department registry")
    return value, parsed


class EventPublisher:
    """Builds, validates and sends input events of the tracker's contract (EVENTS.md)."""

    def __init__(self, bootstrap_servers: str | None = None, *, topic_prefix: str = "",
                 source: str = DEFAULT_SOURCE, departments: Collection[str] | None = None,
                 producer: KafkaSender | None = None, max_bytes: int = ev.DEFAULT_MAX_BYTES):
        if producer is None:
            if not bootstrap_servers:
                raise ValueError("EventPublisher needs bootstrap_servers or a producer")
            producer = _kafka_producer(bootstrap_servers)
        self.producer = producer
        self.topic_prefix = topic_prefix
        self.source = source
        self.departments = departments
        self.max_bytes = max_bytes

    # ------------------------------------------------------------ generic

    def build(self, type: str, data: Mapping[str, Any], *, id: str | None = None,
              subject: str | None = None, time: datetime | None = None) -> dict[str, Any]:
        """A validated structured-mode CloudEvent (dict); raises ``InvalidEvent``."""
        event = validation.build_cloudevent(type, self.source, _drop_none(data), id=id, subject=subject, time=time)
        validate_event(event, departments=self.departments, max_bytes=self.max_bytes)
        return event

    def send_event(self, event: Mapping[str, Any], *, wait: bool = True, timeout: float = 30.0) -> PublishedEvent:
        """Validate a ready CloudEvent (e.g. read from a file) and send it to its topic."""
        value, parsed = validate_event(event, departments=self.departments, max_bytes=self.max_bytes)
        topic = self.topic_prefix + topics.TOPIC_OF_TYPE[parsed.type]
        key = message_key(event)
        future = self.producer.send(
            topic, value=value, key=key.encode("utf-8") if key else None,
            headers=list(ce.STRUCTURED_HEADERS),
        )
        partition = offset = None
        if wait and future is not None:
            metadata = future.get(timeout=timeout)
            partition, offset = getattr(metadata, "partition", None), getattr(metadata, "offset", None)
        return PublishedEvent(dict(event), topic, key, partition, offset)

    def publish(self, type: str, data: Mapping[str, Any], *, id: str | None = None,
                subject: str | None = None, time: datetime | None = None, wait: bool = True) -> PublishedEvent:
        return self.send_event(self.build(type, data, id=id, subject=subject, time=time), wait=wait)

    # ------------------------------------------------------------ one method per event type

    def regulation_changed(self, *, regulation_id: str, title: str, change_kind: str, changed_on: date | str,
                           affected_departments: Sequence[str], id: str | None = None,
                           time: datetime | None = None) -> PublishedEvent:
        """第十条: a law or regulation was revised; each affected department owes a catalog update."""
        return self.publish(ev.REGULATION_CHANGED, {
            "regulation_id": regulation_id, "title": title, "change_kind": change_kind,
            "changed_on": changed_on, "affected_departments": list(affected_departments),
        }, id=id, time=time)

    def duty_changed(self, *, department: str, changed_on: date | str, change_kind: str, description: str,
                     counterpart_departments: Sequence[str] | None = None, id: str | None = None,
                     time: datetime | None = None) -> PublishedEvent:
        """第十条: a department's administrative functions changed (it and each counterpart owe an update)."""
        return self.publish(ev.DUTY_CHANGED, {
            "department": department, "changed_on": changed_on, "change_kind": change_kind,
            "description": description,
            "counterpart_departments": list(counterpart_departments) if counterpart_departments else None,
        }, id=id, subject=department, time=time)

    def catalog_updated(self, *, department: str, submitted_at: datetime | str, catalog_version: str,
                        resolves: Sequence[str] | None = None, resources: Iterable[Mapping[str, Any]] | None = None,
                        complete: bool | None = None, id: str | None = None,
                        time: datetime | None = None) -> PublishedEvent:
        """A department submitted an update of its catalog (``complete``: the whole catalog)."""
        return self.publish(ev.CATALOG_UPDATED, {
            "department": department, "submitted_at": submitted_at, "catalog_version": catalog_version,
            "resolves": list(resolves) if resolves else None,
            "resources": [dict(r) for r in resources] if resources else None,
            "complete": complete,
        }, id=id, subject=department, time=time)

    def data_aggregated(self, *, department: str, resource_code: str, period: str, aggregated_at: datetime | str,
                        records: int | None = None, id: str | None = None,
                        time: datetime | None = None) -> PublishedEvent:
        """第十二条: one period of a resource's data reached the district resource library."""
        return self.publish(ev.DATA_AGGREGATED, {
            "department": department, "resource_code": resource_code, "period": period,
            "aggregated_at": aggregated_at, "records": records}, id=id, subject=department, time=time)

    def data_opened(self, *, department: str, resource_code: str, opened_at: datetime | str,
                    channel: str = ev.MUNICIPAL_PLATFORM, records: int | None = None, id: str | None = None,
                    time: datetime | None = None) -> PublishedEvent:
        """第二十条: a resource's data were opened (through the municipal platform's open system, 第十八条)."""
        return self.publish(ev.DATA_OPENED, {
            "department": department, "resource_code": resource_code, "opened_at": opened_at, "channel": channel,
            "records": records}, id=id, subject=department, time=time)

    def data_shared(self, *, department: str, resource_code: str, shared_at: datetime | str,
                    channel: str = ev.MUNICIPAL_PLATFORM, records: int | None = None, id: str | None = None,
                    time: datetime | None = None) -> PublishedEvent:
        """第十四条: a resource's data were shared (through the municipal platform's exchange)."""
        return self.publish(ev.DATA_SHARED, {
            "department": department, "resource_code": resource_code, "shared_at": shared_at, "channel": channel,
            "records": records}, id=id, subject=department, time=time)

    def objection_raised(self, *, objection_id: str, department: str, resource_code: str,
                         raised_on: date | str, raised_by: str | None = None, id: str | None = None,
                         time: datetime | None = None) -> PublishedEvent:
        """第十三条: an objection to a data resource; the providing department must verify it."""
        return self.publish(ev.OBJECTION_RAISED, {
            "objection_id": objection_id, "department": department, "resource_code": resource_code,
            "raised_on": raised_on, "raised_by": raised_by,
        }, id=id, subject=department, time=time)

    def objection_resolved(self, *, objection_id: str, department: str, resource_code: str,
                           resolved_at: datetime | str, id: str | None = None,
                           time: datetime | None = None) -> PublishedEvent:
        return self.publish(ev.OBJECTION_RESOLVED, {
            "objection_id": objection_id, "department": department, "resource_code": resource_code,
            "resolved_at": resolved_at,
        }, id=id, subject=department, time=time)

    def send_raw(self, logical_topic: str, value: bytes, key: str | None = None) -> None:
        """Send bytes unvalidated: only for demos and tests that need a bad message."""
        self.producer.send(self.topic_prefix + logical_topic, value=value,
                           key=key.encode("utf-8") if key else None).get(timeout=30)

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout=timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is pending and close; bounded, so a vanished broker cannot hang the caller."""
        self.producer.flush(timeout=timeout)
        self.producer.close(timeout=timeout)

    def __enter__(self) -> "EventPublisher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    """Optional fields that were not given are left out, not sent as null."""
    return {k: v for k, v in data.items() if v is not None}


def _kafka_producer(bootstrap_servers: str) -> KafkaSender:
    from kafka import KafkaProducer

    # acks=all and retries: an upstream system wants to know its event was stored.
    # No idempotent producer: the bundled broker has no transactions (DEVELOPERS.md);
    # the tracker deduplicates on (source, id) instead.
    return KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", retries=5,
                         enable_idempotence=False, linger_ms=5)
