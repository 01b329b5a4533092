"""Outgoing CloudEvents (reminders, violations, obligation changes, dead letters) as outbox messages.

Every outgoing event has a deterministic CloudEvents ``id`` so a replay or a
second worker writes the same id, which the outbox's unique key turns into a
no-op. Keys are department codes, so one department's events stay in order.
Which topic a message goes to is the relay's business (``streams.topics``).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import cloudevents as ce
from models import events as ev
from models.ids import dead_letter_id
from models.obligations import Obligation
from models.ports import Origin
from models.reminders import Reminder
from models.validation import to_cloudevent_dict
from models.violations import Violation


@dataclass(frozen=True)
class OutgoingMessage:
    key: bytes | None
    event_id: str
    cloudevent: dict[str, Any]

    @property
    def type(self) -> str:
        return self.cloudevent["type"]


def _message(event_type: str, event_id: str, department: str | None, time: datetime,
             data: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(department.encode() if department else None, event_id,
                           ce.envelope(event_type, event_id, ev.TRACKER_SOURCE, time, data, department or None))


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
        **({"resource_code": obligation.resource_code} if obligation.resource_code is not None else {}),
        **({"period": obligation.period} if obligation.period is not None else {}),
    }


def obligation_opened(obligation: Obligation, now: datetime) -> OutgoingMessage:
    return _message(ev.OBLIGATION_OPENED, f"{obligation.id}.opened", obligation.department, now,
                    obligation_fields(obligation))


def obligation_completed(obligation: Obligation, now: datetime) -> OutgoingMessage:
    data = obligation_fields(obligation) | {"on_time": obligation.on_time, "completed_at": obligation.completed_at,
                                            "completed_by_event_id": obligation.completed_by,
                                            "working_days_taken": obligation.working_days_taken}
    return _message(ev.OBLIGATION_COMPLETED, f"{obligation.id}.completed", obligation.department, now, data)


def obligation_cancelled(obligation: Obligation, reason: str, now: datetime) -> OutgoingMessage:
    """No longer owed: its resource left the catalog, its update cycle changed or it left the open list."""
    return _message(ev.OBLIGATION_CANCELLED, f"{obligation.id}.cancelled", obligation.department, now,
                    obligation_fields(obligation) | {"reason": reason, "cancelled_at": now})


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
        "obligation": violation.obligation_kind,
        "resource_code": violation.resource_code,
        "period": violation.period,
        "trigger_event_id": violation.trigger_event_id,
        "due_date": violation.due_date,
        "detected_at": violation.detected_at,
        "policy_id": violation.policy_id,
        "explanation": violation.explanation,
    }
    return _message(ev.VIOLATION_DETECTED, violation.id, violation.department, violation.detected_at, data)


@dataclass(frozen=True)
class StoredOrigin:
    """An ``Origin`` kept with a held event, so that one refused later still gets the dead letter it would have."""

    key: bytes | None
    parts: tuple[str, ...]
    fields: dict[str, Any]

    def reference(self) -> tuple[str, ...]:
        return self.parts

    def record(self) -> dict[str, Any]:
        return dict(self.fields)


def stored_origin(origin: Origin) -> dict[str, Any]:
    """An origin as JSON-able data (``origin_from_stored`` reads it back)."""
    return {"reference": list(origin.reference()), "record": origin.record(),
            "key_base64": base64.b64encode(origin.key).decode("ascii") if origin.key is not None else None}


def origin_from_stored(stored: dict[str, Any]) -> StoredOrigin:
    key = stored.get("key_base64")
    return StoredOrigin(base64.b64decode(key) if key is not None else None, tuple(stored.get("reference") or ()),
                        dict(stored.get("record") or {}))


def dead_letter(*, origin: Origin, reason: str, now: datetime, department: str | None = None,
                event: ev.InboundEvent | None = None) -> OutgoingMessage:
    """One dead letter per input (its id derives from the origin's reference): where it was, its bytes, why."""
    data: dict[str, Any] = {**origin.record(), "reason": reason}
    if event is not None:
        if data.get("value_base64") is None:  # an origin without the bytes: the event as it was read
            data["value_base64"] = base64.b64encode(ce.encode(to_cloudevent_dict(event))).decode("ascii")
        data |= {"event_id": event.id, "event_source": event.source, "event_type": event.type}
    message = _message(ev.EVENT_REJECTED, dead_letter_id(*origin.reference()), department, now, data)
    if department is None and origin.key is not None:
        message = OutgoingMessage(origin.key, message.event_id, message.cloudevent)
    return message
