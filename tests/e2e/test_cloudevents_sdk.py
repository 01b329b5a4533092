"""Every output topic read with the official CloudEvents SDK (``cloudevents`` on PyPI), issue 9.

``cloudevents.core.bindings.kafka.from_kafka_event`` is the SDK's Kafka reader:
it tells binary from structured mode by the headers, as the Kafka binding
says, and parses the event. Each message the worker wrote (obligations opened
and completed, reminders, violations, dead letters) must parse, with the
attributes and data our own reader sees (``catalog.notifications.undeliverable``
stays empty here: no delivery channel is configured; what it holds is parsed too).
"""
from __future__ import annotations

import json

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event

from models.clock import parse_instant as at
from streams.topics import CATALOG_UPDATES as UPD
from streams.topics import DEAD_LETTERS as DLQ
from streams.topics import OBLIGATIONS as OBL
from streams.topics import OUTPUT_TOPICS, TYPES_OF_TOPIC
from streams.topics import REGULATION_CHANGES as REG
from streams.topics import REMINDERS as REM
from streams.topics import VIOLATIONS as VIO
from tests.e2e.test_pipeline import catalog_update, regulation

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_the_official_sdk_parses_every_output_message(pipeline):
    pipeline.start_worker()
    publish = pipeline.publisher
    publish.send_event(REG, regulation("R1", "2026-03-02", "jyj", "mzj"), key="jyj")
    publish.send_event(UPD, catalog_update("U1", "jyj", "2026-03-10T15:00:00+08:00", ["R1"]), key="jyj")
    publish.send_raw(REG, b"not json", key="bad")
    pipeline.wait_for(lambda o: len(o.events(OBL)) >= 3 and o.events(DLQ), what="obligations and a dead letter")
    pipeline.clock.set(at("2026-03-16T09:00:01"))
    pipeline.wait_for(lambda o: o.events(REM), what="a reminder")
    pipeline.clock.set(at("2026-03-24T00:00:01"))
    pipeline.wait_for(lambda o: o.events(VIO), what="a violation")
    pipeline.output.settle()

    parsed = {}
    for topic in OUTPUT_TOPICS:
        records = pipeline.output.records[topic]
        assert records or topic not in (OBL, REM, VIO, DLQ), f"nothing on {topic}"  # delivery: no channel here
        for record in records:
            headers = {name: value for name, value in record.headers or ()}
            assert not any(name.startswith("ce_") for name in headers), headers  # structured mode only
            event = from_kafka_event(KafkaMessage(headers=headers, key=record.key, value=record.value))
            ours = json.loads(record.value)
            assert event.get_id() == ours["id"] and event.get_type() == ours["type"]
            assert event.get_type() in TYPES_OF_TOPIC[topic]
            assert event.get_source() == ours["source"] and event.get_specversion() == "1.0"
            assert event.get_time() == at(ours["time"]) and event.get_time().utcoffset().total_seconds() == 8 * 3600
            assert event.get_data() == ours["data"]
            parsed.setdefault(topic, set()).add(event.get_type())
    assert {t.rsplit(".", 1)[-1] for t in parsed[OBL]} >= {"opened", "completed"}
    assert all(parsed.get(topic) for topic in (REM, VIO, DLQ))
