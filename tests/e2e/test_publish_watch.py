"""``catalog-tracker publish`` and ``watch`` against the real broker, read and written with kafka-python."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from models import events as ev

pytestmark = pytest.mark.broker


def create_topics(bootstrap_servers: str, names: list[str], partitions: int = 2) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        admin.create_topics([NewTopic(name, partitions, 1) for name in names])
        deadline = time.monotonic() + 20
        while not set(names) <= set(admin.list_topics()):
            assert time.monotonic() < deadline, f"topics {names} never became visible"
            time.sleep(0.05)
    finally:
        admin.close()


def read_all(bootstrap_servers: str, topic: str, expected: int, timeout: float = 20.0) -> list:
    """Read ``topic`` from the start until ``expected`` records came or ``timeout`` passed."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None,
                             auto_offset_reset="earliest", fetch_max_wait_ms=10, consumer_timeout_ms=500)
    records = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def run_cli(args: list[str], env_extra: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def cli_env(bootstrap_servers, topic_prefix):
    return {"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers, "TRACKER_TOPIC_PREFIX": topic_prefix}


def test_publish_sends_a_valid_cloudevent_that_kafka_python_reads_back(bootstrap_servers, topic_prefix, cli_env):
    topic = topic_prefix + ev.TOPIC_DUTY_CHANGES
    create_topics(bootstrap_servers, [topic])

    result = run_cli(["publish", "duty-change", "--department", "yh-civil", "--changed-on", "2026-03-02",
                      "--change-kind", "transferred", "--description", "养老服务职能划转至区卫健局",
                      "--counterpart", "yh-health", "--id", "duty-2026-001", "--source", "/yuhua/staffing",
                      "--no-registry-check", "--json"], cli_env)
    assert result.returncode == 0, result.stderr

    records = read_all(bootstrap_servers, topic, expected=1)
    assert len(records) == 1
    record = records[0]
    assert record.key == b"yh-civil"
    assert ("content-type", b"application/cloudevents+json") in list(record.headers)
    parsed = ev.parse_cloudevent(record.value, list(record.headers))
    assert (parsed.source, parsed.id) == ("/yuhua/staffing", "duty-2026-001")
    assert parsed.data.departments() == ("yh-civil", "yh-health")
    assert json.loads(result.stdout)["id"] == "duty-2026-001"


def test_publish_refuses_invalid_input_and_sends_nothing(bootstrap_servers, topic_prefix, cli_env, tmp_path):
    topic = topic_prefix + ev.TOPIC_REGULATION_CHANGES
    create_topics(bootstrap_servers, [topic])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"regulation_id": "R-9", "title": "条例", "change_kind": "amended",
                               "changed_on": "2026-02-30", "affected_departments": ["yh-edu"]}), encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"regulation_id": "R-10", "title": "条例", "change_kind": "amended",
                                "changed_on": "2026-03-02", "affected_departments": ["yh-edu"]}), encoding="utf-8")

    refused = run_cli(["publish", "regulation-change", "--file", str(bad), "--no-registry-check"], cli_env)
    assert refused.returncode == 2
    assert "data.changed_on" in refused.stderr and "2026-02-30" in refused.stderr
    accepted = run_cli(["publish", "regulation-change", "--file", str(good), "--no-registry-check"], cli_env)
    assert accepted.returncode == 0, accepted.stderr

    # Only the good event is on the topic: the refused one never left the producer.
    records = read_all(bootstrap_servers, topic, expected=2, timeout=3)
    assert [json.loads(r.value)["data"]["regulation_id"] for r in records] == ["R-10"]
