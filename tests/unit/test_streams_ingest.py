"""The streams side without a broker: decoding messages, the relay's partitioner, the calendar watcher.

The batch applier has its own file (``test_batch_applier.py``)."""
from __future__ import annotations

import json

import pytest

from models.cloudevents import encode as encode_cloudevent
from models.cloudevents import event_id as record_event_id
from models.cloudevents import normalise_headers
from models.events import REGULATION_CHANGED
from models.service import Accepted, Rejected
from models.validation import build_cloudevent
from streams.ingest import decode_message
from streams.relay import partition_for


def regulation_event(**overrides):
    data = {"regulation_id": "reg-1", "title": "某条例", "change_kind": "amended", "changed_on": "2026-03-02",
            "affected_departments": ["YHQ-SJZX"]}
    data.update(overrides)
    return build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", data, id="evt-1")


def test_a_valid_structured_event_is_accepted_with_its_position():
    item = decode_message("p.catalog.regulation-changes", 2, 41, b"YHQ-SJZX", encode_cloudevent(regulation_event()),
                          [("content-type", b"application/cloudevents+json")], max_bytes=10_000)
    assert isinstance(item, Accepted)
    assert (item.origin.topic, item.origin.partition, item.origin.offset) == ("p.catalog.regulation-changes", 2, 41)
    assert item.event.key == ("/yuhua/legal-affairs", "evt-1")


@pytest.mark.parametrize("value, reason_part", [
    (b"\xff\xfe not utf-8", "not JSON"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a CloudEvent"),
    (None, "no value"),
])
def test_bad_bytes_are_rejected_with_the_original_bytes(value, reason_part):
    item = decode_message("t", 0, 7, b"k", value, None, max_bytes=10_000)
    assert isinstance(item, Rejected)
    assert reason_part in item.reason
    assert item.origin.value == value and item.origin.key == b"k" and item.origin.offset == 7


def test_an_oversized_message_is_rejected_before_parsing():
    value = encode_cloudevent(regulation_event())
    item = decode_message("t", 0, 0, None, value, None, max_bytes=len(value) - 1)
    assert isinstance(item, Rejected) and "oversized" in item.reason


def test_binary_mode_headers_from_any_client_shape_are_read():
    event = regulation_event()
    headers = [(b"ce_specversion", b"1.0"), ("ce_id", "evt-9"), ("ce_source", b"/yuhua/legal-affairs"),
               ("ce_type", REGULATION_CHANGED), ("ce_time", event["time"].encode())]
    item = decode_message("t", 0, 0, None, json.dumps(event["data"]).encode(), headers, max_bytes=10_000)
    assert isinstance(item, Accepted), getattr(item, "reason", None)
    assert item.event.id == "evt-9"
    assert normalise_headers({"a": "b"}) == (("a", b"b"),)


@pytest.mark.parametrize("key, java_murmur2", [(b"21", -973932308), (b"foobar", -790332482), (b"abc", 479470107)])
def test_partition_is_kafkas_default_partitioner(key, java_murmur2):
    # Reference values of org.apache.kafka.common.utils.Utils.murmur2 (Kafka's own tests).
    for partitions in (1, 4, 12):
        assert partition_for(key, "ignored", partitions) == (java_murmur2 & 0x7FFFFFFF) % partitions


def test_keyless_messages_are_placed_by_their_event_id_stably():
    placed = {partition_for(None, f"id-{i}", 4) for i in range(50)}
    assert placed == {0, 1, 2, 3}
    assert partition_for(None, "id-7", 4) == partition_for(None, "id-7", 4)


def test_event_id_is_read_from_the_header_or_the_value():
    assert record_event_id(b"{}", [("ce_id", b"abc")]) == "abc"
    assert record_event_id(b'{"id": "xyz"}', []) == "xyz"
    assert record_event_id(b"garbage", []) is None


class FakeLiveCalendar:
    def __init__(self):
        self.pending: list = []

    def reload_if_changed(self):
        if not self.pending:
            return None
        change = self.pending.pop(0)
        if isinstance(change, Exception):
            raise change
        return change


def test_calendar_watcher_reloads_everywhere_and_reschedules_on_the_holder_only(caplog):
    from models.rescheduling import RescheduleResult
    from streams.calendar_watch import CalendarWatcher

    calls = []
    failures = []

    def reschedule(*changed):
        calls.append(changed)
        if failures:
            raise failures.pop()
        return RescheduleResult(examined=4, moved=3 if changed else 0)

    calendar = FakeLiveCalendar()
    watcher = CalendarWatcher(calendar, reschedule)
    assert watcher.check(is_holder=False) == 0 and calls == []  # not the holder: nothing to catch up
    assert watcher.check(is_holder=True) == 0 and calls == [()]  # the holder compares with the stored calendar once
    assert watcher.check(is_holder=True) == 0 and calls == [()]  # nothing changed since
    calendar.pending.append(("old", "new"))
    assert watcher.check(is_holder=False) == 0 and calls == [()]  # reloaded, but not the holder
    calendar.pending.append(("new", "newer"))
    assert watcher.check(is_holder=True) == 3 and calls == [(), ("new", "newer")]
    failures.append(RuntimeError("database is locked"))
    calendar.pending.append(("newer", "newest"))
    assert watcher.check(is_holder=True) == 0  # failed: said, and the next check resumes it
    assert watcher.check(is_holder=True) == 0 and calls[-1] == ()
    assert any("database is locked" in r.getMessage() for r in caplog.records)
    calls.clear()
    calendar.pending.extend([ValueError("2027.yaml line 3: bad date"), ValueError("2027.yaml line 3: bad date")])
    assert watcher.check(is_holder=True) == 0 and watcher.check(is_holder=True) == 0
    assert sum("bad date" in r.getMessage() for r in caplog.records) == 1  # said once, not every tick
