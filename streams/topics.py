"""Kafka topics: their names, which event types each carries, full names with the prefix, creation at start.

Logical names (without the configurable prefix) are those of EVENTS.md. Each
input topic accepts only its own event types. Topics are created when missing,
with ``settings.topic_partitions``; existing topics are left as they are
(changing a partition count would move keys).
"""
from __future__ import annotations

import logging
import time
from typing import Iterable

from config.settings import Settings
from models import events as ev

log = logging.getLogger(__name__)

REGULATION_CHANGES = "catalog.regulation-changes"
DUTY_CHANGES = "catalog.duty-changes"
CATALOG_UPDATES = "catalog.catalog-updates"
DATA_OBJECTIONS = "catalog.data-objections"
DATA_ACTIVITIES = "catalog.data-activities"
REMINDERS = "catalog.notifications.reminders"
VIOLATIONS = "catalog.notifications.violations"
OBLIGATIONS = "catalog.obligations"
DEAD_LETTERS = "catalog.dead-letters"
UNDELIVERABLE = "catalog.notifications.undeliverable"  # deliveries given up (issue 14)

TYPES_OF_TOPIC: dict[str, tuple[str, ...]] = {
    REGULATION_CHANGES: (ev.REGULATION_CHANGED,),
    DUTY_CHANGES: (ev.DUTY_CHANGED,),
    CATALOG_UPDATES: (ev.CATALOG_UPDATED,),
    DATA_OBJECTIONS: (ev.OBJECTION_RAISED, ev.OBJECTION_RESOLVED),
    DATA_ACTIVITIES: (ev.DATA_AGGREGATED, ev.DATA_OPENED, ev.DATA_SHARED),
    REMINDERS: (ev.REMINDER,),
    VIOLATIONS: (ev.VIOLATION_DETECTED,),
    OBLIGATIONS: (ev.OBLIGATION_OPENED, ev.OBLIGATION_COMPLETED, ev.OBLIGATION_RESCHEDULED,
                  ev.OBLIGATION_CANCELLED),
    DEAD_LETTERS: (ev.EVENT_REJECTED,),
    UNDELIVERABLE: (ev.NOTIFICATION_UNDELIVERABLE,),
}
TOPIC_OF_TYPE: dict[str, str] = {type_: topic for topic, types in TYPES_OF_TOPIC.items() for type_ in types}
INPUT_TOPICS: tuple[str, ...] = (REGULATION_CHANGES, DUTY_CHANGES, CATALOG_UPDATES, DATA_OBJECTIONS, DATA_ACTIVITIES)
OUTPUT_TOPICS: tuple[str, ...] = (REMINDERS, VIOLATIONS, OBLIGATIONS, DEAD_LETTERS, UNDELIVERABLE)
NOTIFICATION_TOPICS: tuple[str, ...] = (REMINDERS, VIOLATIONS)  # what the notifier delivers to people


def topic_of_type(event_type: str) -> str:
    """The logical topic an event type is published on."""
    return TOPIC_OF_TYPE[event_type]


def input_topic_names(settings: Settings) -> list[str]:
    return [settings.topic(name) for name in INPUT_TOPICS]


def input_types_by_name(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Full input topic name -> the event types it may carry."""
    return {settings.topic(name): TYPES_OF_TOPIC[name] for name in INPUT_TOPICS}


def output_topic_names(settings: Settings) -> list[str]:
    return [settings.topic(name) for name in OUTPUT_TOPICS]


def all_topic_names(settings: Settings) -> list[str]:
    return input_topic_names(settings) + output_topic_names(settings)


def ensure_topics(bootstrap_servers: str, names: Iterable[str], partitions: int, *,
                  timeout: float = 30.0) -> list[str]:
    """Create the topics in ``names`` that do not exist; returns the ones created.

    Waits until every topic is visible in the broker's metadata, so a producer
    or consumer started next finds its partitions.
    """
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    names = list(dict.fromkeys(names))
    admin = _admin(bootstrap_servers, timeout)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in names if name not in existing]
        created: list[str] = []
        if missing:
            try:
                admin.create_topics([NewTopic(name, partitions, 1) for name in missing],
                                    timeout_ms=int(timeout * 1000))
                created = missing
            except TopicAlreadyExistsError:
                created = []  # another worker created them at the same moment
            log.info("created topics %s with %d partitions", created, partitions)
        _wait_for_metadata(admin, names, timeout)
        return created
    finally:
        admin.close()


def _admin(bootstrap_servers: str, timeout: float):
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="catalog-tracker-admin",
                                    request_timeout_ms=int(min(timeout, 30) * 1000))
        except Exception:  # noqa: BLE001 - broker not up yet: retry until the deadline
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _wait_for_metadata(admin, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        visible = set(admin.list_topics())
        if all(name in visible for name in names):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics not visible after {timeout:.0f}s: {sorted(set(names) - visible)}")
        time.sleep(0.05)
