"""Kafka topics: their full names (with the configured prefix) and creation at start.

Topics are created when missing, with ``settings.topic_partitions``; existing
topics are left as they are (changing a partition count would move keys).
"""
from __future__ import annotations

import logging
import time
from typing import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from config.settings import Settings
from models.events import INPUT_TOPICS, OUTPUT_TOPICS

log = logging.getLogger(__name__)


def input_topic_names(settings: Settings) -> list[str]:
    return [settings.topic(name) for name in INPUT_TOPICS]


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


def _admin(bootstrap_servers: str, timeout: float) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="catalog-tracker-admin",
                                    request_timeout_ms=int(min(timeout, 30) * 1000))
        except Exception:  # noqa: BLE001 - broker not up yet: retry until the deadline
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _wait_for_metadata(admin: KafkaAdminClient, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        visible = set(admin.list_topics())
        if all(name in visible for name in names):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics not visible after {timeout:.0f}s: {sorted(set(names) - visible)}")
        time.sleep(0.05)
