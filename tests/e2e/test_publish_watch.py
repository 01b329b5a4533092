"""``catalog-tracker publish`` and ``watch`` against the real broker, read and written with kafka-python."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer

from models import cloudevents as ce
from models import events as ev
from models import validation
from streams import topics
from streams.topics import ensure_topics

pytestmark = pytest.mark.broker


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
    topic = topic_prefix + topics.DUTY_CHANGES
    ensure_topics(bootstrap_servers, [topic], 2)

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
    parsed = validation.parse_cloudevent(record.value, list(record.headers))
    assert (parsed.source, parsed.id) == ("/yuhua/staffing", "duty-2026-001")
    assert parsed.data.departments() == ("yh-civil", "yh-health")
    assert json.loads(result.stdout)["id"] == "duty-2026-001"


def test_publish_refuses_invalid_input_and_sends_nothing(bootstrap_servers, topic_prefix, cli_env, tmp_path):
    topic = topic_prefix + topics.REGULATION_CHANGES
    ensure_topics(bootstrap_servers, [topic], 2)
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


def violation_event(number: int, department: str) -> dict:
    """A violation as the tracker's relay publishes it (EVENTS.md, catalog.notifications.violations)."""
    return {
        "specversion": "1.0", "id": f"violation-{number}", "source": ev.TRACKER_SOURCE,
        "type": ev.VIOLATION_DETECTED, "time": "2026-03-24T09:00:00+08:00", "subject": department,
        "datacontenttype": "application/json",
        "data": {"violation_id": f"violation-{number}", "department": department, "rule": "overdue",
                 "article": "第二十五条（八）", "obligation_id": f"ob-{number}", "trigger_event_id": f"reg-{number}",
                 "due_date": "2026-03-23", "detected_at": "2026-03-24T00:00:05+08:00",
                 "explanation": f"法规修订 reg-{number} 于 2026-03-02 生效，第十条要求 15 个工作日内更新目录，"
                                "期限 2026-03-23 已过仍未更新。"},
    }


@pytest.fixture
def registry_file(tmp_path):
    path = tmp_path / "departments.yaml"
    path.write_text("departments:\n  - {code: jyj, name: 区教育局}\n  - {code: czj, name: 区财政局}\n",
                    encoding="utf-8")
    return path


def send_violations(bootstrap_servers: str, topic: str, events: list[dict]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers)
    try:
        for event in events:
            producer.send(topic, key=event["subject"].encode(), value=ce.encode(event),
                          headers=[("content-type", b"application/cloudevents+json")])
        producer.flush()
    finally:
        producer.close()


def test_watch_prints_one_readable_line_per_violation(bootstrap_servers, topic_prefix, cli_env, registry_file):
    topic = topic_prefix + topics.VIOLATIONS
    ensure_topics(bootstrap_servers, [topic], 2)
    send_violations(bootstrap_servers, topic, [violation_event(1, "jyj"), violation_event(2, "czj")])

    env = dict(cli_env, TRACKER_DEPARTMENTS_FILE=str(registry_file))
    text = run_cli(["watch", "violations", "--from-beginning", "--max-events", "2", "--idle-timeout", "20"], env)
    assert text.returncode == 0, text.stderr
    lines = sorted(text.stdout.strip().splitlines())
    assert len(lines) == 2
    education = next(line for line in lines if "jyj" in line)
    assert "区教育局" in education and "第二十五条（八）" in education and "截止 2026-03-23" in education
    assert "期限 2026-03-23 已过仍未更新" in education
    assert any("区财政局" in line for line in lines)

    machine = run_cli(["watch", "violations", "--json", "--from-beginning", "--max-events", "2",
                       "--idle-timeout", "20"], env)
    assert machine.returncode == 0, machine.stderr
    records = [json.loads(line) for line in machine.stdout.strip().splitlines()]
    assert sorted(r["data"]["violation_id"] for r in records) == ["violation-1", "violation-2"]
    assert {r["department_name"] for r in records} == {"区教育局", "区财政局"}


def test_watchers_in_one_group_share_the_work(bootstrap_servers, topic_prefix, cli_env, registry_file):
    topic = topic_prefix + topics.VIOLATIONS
    ensure_topics(bootstrap_servers, [topic], 2)
    events = [violation_event(n, "jyj" if n % 2 else "czj") for n in range(10)]
    send_violations(bootstrap_servers, topic, events)

    env = dict(os.environ, **cli_env, TRACKER_DEPARTMENTS_FILE=str(registry_file))
    group = f"{topic_prefix}supervisors"
    command = [sys.executable, "-m", "cli.main", "watch", "violations", "--json", "--from-beginning",
               "--group", group, "--idle-timeout", "12"]
    watchers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    outputs = [watcher.communicate(timeout=90) for watcher in watchers]
    assert all(w.returncode == 0 for w in watchers), [err for _, err in outputs]
    seen = [json.loads(line)["id"] for out, _ in outputs for line in out.splitlines() if line.strip()]
    # Every violation is printed once across the group, none twice.
    assert sorted(seen) == sorted(e["id"] for e in events)


@pytest.mark.parametrize("group", [None, "fresh-group"])
def test_watch_without_from_beginning_shows_only_new_events(bootstrap_servers, topic_prefix, cli_env, registry_file,
                                                            group):
    """The old events sit in one multi-record batch, after which the bundled broker's ListOffsets is wrong."""
    topic = topic_prefix + topics.VIOLATIONS
    ensure_topics(bootstrap_servers, [topic], 2)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=50, batch_size=1 << 20)
    for n in range(20):
        producer.send(topic, key=b"jyj", value=ce.encode(violation_event(n, "jyj")))
    producer.flush()

    env = dict(os.environ, **cli_env, TRACKER_DEPARTMENTS_FILE=str(registry_file))
    command = [sys.executable, "-m", "cli.main", "watch", "violations", "--json", "--max-events", "2",
               "--idle-timeout", "60"] + (["--group", topic_prefix + group] if group else [])
    watcher = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = watcher.stderr.readline()  # blocks until the watcher knows where to start (or exits)
        assert ready.startswith(f"watching {topic}"), ready + watcher.stderr.read()
        for n in (100, 101):
            producer.send(topic, key=b"jyj", value=ce.encode(violation_event(n, "jyj"))).get(timeout=10)
        out, err = watcher.communicate(timeout=60)
    finally:
        producer.close()
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    seen = [json.loads(line)["data"]["violation_id"] for line in out.splitlines() if line.strip()]
    assert seen == ["violation-100", "violation-101"], f"old violations shown as new: {seen}"
