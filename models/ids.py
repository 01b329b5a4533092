"""Deterministic ids: the same facts give the same id on every replay and every worker.

Every id the tracker makes is ``<prefix>-<32 hex digits of sha256>`` of its
facts joined by the unit separator, so a second worker or a replay writes the
same id, which the stores' unique keys turn into a no-op.
"""
from __future__ import annotations

import hashlib


def stable_id(prefix: str, *parts: str) -> str:
    """``prefix-`` and the first 32 hex digits of the sha256 of ``parts`` joined by U+001F."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{prefix}-{digest}"


def obligation_id(kind: str, trigger_source: str, trigger_event_id: str, department: str) -> str:
    return stable_id("ob", kind, trigger_source, trigger_event_id, department)


def resource_obligation_id(kind: str, trigger_source: str, trigger_event_id: str, department: str, resource_code: str,
                           period: str = "") -> str:
    """An obligation about one catalog resource (and period): one per resource even when an update lists many."""
    return stable_id("ob", kind, trigger_source, trigger_event_id, department, resource_code, period)


def reminder_id(obligation_id: str, stage: int) -> str:
    return stable_id("rm", obligation_id, str(stage))


def violation_id(rule: str, *facts: str) -> str:
    return stable_id("vi", rule, *facts)


def dead_letter_id(*reference: str) -> str:
    """From the input's reference (for Kafka: topic, partition and offset), so one input gives one dead letter."""
    return stable_id("dl", *reference)
