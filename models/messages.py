"""Outgoing CloudEvents (reminders, violations, obligation changes, dead letters) as outbox messages.

Every outgoing event has a deterministic CloudEvents ``id`` so a replay or a
second worker writes the same id, which the outbox's unique key turns into a
no-op. Keys are department codes, so one department's events stay in order.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import events as ev
from models.obligations import Obligation
from models.reminders import Reminder
from models.violations import Violation

STRUCTURED_HEADERS: tuple[tuple[str, bytes], ...] = (("content-type", ev.STRUCTURED_CONTENT_TYPE.encode()),)


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str  # logical topic, without prefix
    key: bytes | None
    event_id: str
    cloudevent: dict[str, Any]

    def value(self) -> bytes:
        return ev.encode_cloudevent(self.cloudevent)

    def headers(self) -> tuple[tuple[str, bytes], ...]:
        return (*STRUCTURED_HEADERS, ("ce_id", self.event_id.encode("utf-8")),
                ("ce_type", self.cloudevent["type"].encode("utf-8")))


def _message(event_type: str, event_id: str, department: str | None, time: datetime,
             data: dict[str, Any]) -> OutgoingMessage:
    cloudevent = {
        "specversion": ev.SPECVERSION,
        "id": event_id,
        "source": ev.TRACKER_SOURCE,
        "type": event_type,
        "time": ev.format_timestamp(time),
        "datacontenttype": "application/json",
        "data": ev._jsonable(data),
    }
    if department:
        cloudevent["subject"] = department
    return OutgoingMessage(ev.TOPIC_OF_TYPE[event_type], department.encode() if department else None,
                           event_id, cloudevent)


def obligation_fields(obligation: Obligation) -> dict[str, Any]:
    return {
        "obligation_id": obligation.id,
        "department": obligation.department,
        "obligation": obligation.kind,
        "article": obligation.article,
        "trigger_event_id": obligation.trigger_event_id,
        "trigger_source": obligation.trigger_source,
        "start_day": obligation.start_day,
        "working_days": obligation.working_days,
        "due_date": obligation.due_date,
        "due_end": obligation.due_end,
        "provisional": obligation.provisional,
        "status": obligation.status,
        "policy_id": obligation.policy_id,
        "policy_version": obligation.policy_version,
    }


def obligation_opened(obligation: Obligation, now: datetime) -> OutgoingMessage:
    return _message(ev.OBLIGATION_OPENED, f"{obligation.id}.opened", obligation.department, now,
                    obligation_fields(obligation))


def obligation_completed(obligation: Obligation, now: datetime) -> OutgoingMessage:
    data = obligation_fields(obligation) | {"on_time": obligation.on_time, "completed_at": obligation.completed_at,
                                            "completed_by_event_id": obligation.completed_by,
                                            "working_days_taken": obligation.working_days_taken}
    return _message(ev.OBLIGATION_COMPLETED, f"{obligation.id}.completed", obligation.department, now, data)


def obligation_rescheduled(obligation: Obligation, previous_due_date, previous_provisional: bool,
                           now: datetime) -> OutgoingMessage:
    data = obligation_fields(obligation) | {"previous_due_date": previous_due_date,
                                            "previous_provisional": previous_provisional}
    event_id = (f"{obligation.id}.rescheduled.{obligation.due_date.isoformat()}"
                f".{'p' if obligation.provisional else 'f'}")
    return _message(ev.OBLIGATION_RESCHEDULED, event_id, obligation.department, now, data)


def reminder_message(reminder: Reminder, obligation: Obligation, text: str) -> OutgoingMessage:
    data = {
        "obligation_id": obligation.id,
        "department": obligation.department,
        "obligation": obligation.kind,
        "article": obligation.article,
        "trigger_event_id": obligation.trigger_event_id,
        "start_day": obligation.start_day,
        "due_date": obligation.due_date,
        "due_end": obligation.due_end,
        "working_days_left": reminder.working_days_left,
        "stage": reminder.stage,
        "provisional": obligation.provisional,
        "text": text,
    }
    return _message(ev.REMINDER, reminder.id, obligation.department, reminder.sent_at, data)


def violation_message(violation: Violation) -> OutgoingMessage:
    data = {
        "violation_id": violation.id,
        "department": violation.department,
        "rule": violation.rule,
        "article": violation.article,
        "articles": list(violation.articles),
        "obligation_id": violation.obligation_id,
        "trigger_event_id": violation.trigger_event_id,
        "due_date": violation.due_date,
        "detected_at": violation.detected_at,
        "policy_id": violation.policy_id,
        "explanation": violation.explanation,
    }
    return _message(ev.VIOLATION_DETECTED, violation.id, violation.department, violation.detected_at, data)


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    digest = hashlib.sha256(f"{topic}\x1f{partition}\x1f{offset}".encode()).hexdigest()[:32]
    return f"dl-{digest}"


def dead_letter(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                headers: tuple[tuple[str, bytes], ...], reason: str, now: datetime,
                department: str | None = None, event: ev.InboundEvent | None = None) -> OutgoingMessage:
    """One dead letter per input message, keyed (for dedup) by topic, partition and offset."""
    data: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "reason": reason,
        "value_base64": base64.b64encode(value).decode("ascii") if value is not None else None,
        "key_base64": base64.b64encode(key).decode("ascii") if key is not None else None,
        "headers": [[name, base64.b64encode(raw or b"").decode("ascii")] for name, raw in headers],
    }
    if event is not None:
        data |= {"event_id": event.id, "event_source": event.source, "event_type": event.type}
    message = _message(ev.EVENT_REJECTED, dead_letter_id(topic, partition, offset), department, now, data)
    if department is None and key is not None:
        message = OutgoingMessage(message.topic, key, message.event_id, message.cloudevent)
    return message
