"""The publisher library and ``publish`` command validate before anything is sent."""
from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from cli.main import build_parser
from cli.publish import event_from_args
from models import cloudevents as ce
from models import events as ev
from models import validation
from models.clock import SHANGHAI
from streams.publisher import CONTENT_TYPE_HEADER, EventPublisher, message_key, validate_event


class FakeProducer:
    """Records what would have gone to Kafka."""

    def __init__(self):
        self.sent: list[dict] = []

    def send(self, topic, value=None, key=None, headers=None):
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": headers})
        offset = len(self.sent) - 1
        return SimpleNamespace(get=lambda timeout=None: SimpleNamespace(partition=0, offset=offset))

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


@pytest.fixture
def producer():
    return FakeProducer()


@pytest.fixture
def publisher(producer):
    return EventPublisher(producer=producer, topic_prefix="p.", source="/yuhua/legal-affairs",
                          departments={"yh-edu", "yh-fin", "yh-civil"})


def test_regulation_change_is_sent_structured_with_content_type(publisher, producer):
    sent = publisher.regulation_changed(regulation_id="R-7", title="长沙市政务数据共享条例", change_kind="amended",
                                        changed_on=date(2026, 3, 2), affected_departments=["yh-edu", "yh-fin"])
    assert len(producer.sent) == 1
    message = producer.sent[0]
    assert message["topic"] == "p.catalog.regulation-changes"
    assert (CONTENT_TYPE_HEADER, b"application/cloudevents+json") in message["headers"]
    parsed = validation.parse_cloudevent(message["value"], message["headers"])
    assert parsed.type == ev.REGULATION_CHANGED
    assert parsed.source == "/yuhua/legal-affairs"
    assert parsed.data.affected_departments == ("yh-edu", "yh-fin")
    assert parsed.data.changed_on == date(2026, 3, 2)
    assert sent.id == parsed.id and sent.offset == 0
    assert message["key"] is None  # several departments: no single key


def test_department_code_is_the_key(publisher, producer):
    publisher.duty_changed(department="yh-civil", changed_on="2026-03-02", change_kind="transferred",
                           description="养老服务职能划转", counterpart_departments=["yh-edu"])
    publisher.catalog_updated(department="yh-edu", submitted_at=datetime(2026, 3, 10, 9, tzinfo=SHANGHAI),
                              catalog_version="2026.1")
    assert [m["key"] for m in producer.sent] == [b"yh-civil", b"yh-edu"]
    assert [m["topic"] for m in producer.sent] == ["p.catalog.duty-changes", "p.catalog.catalog-updates"]
    duty = json.loads(producer.sent[0]["value"])
    assert duty["subject"] == "yh-civil"
    assert duty["data"]["counterpart_departments"] == ["yh-edu"]


@pytest.mark.parametrize("call, reason", [
    (lambda p: p.regulation_changed(regulation_id="R", title="t", change_kind="amended", changed_on="2026-02-30",
                                    affected_departments=["yh-edu"]), "date that exists"),
    (lambda p: p.regulation_changed(regulation_id="R", title="t", change_kind="rewritten", changed_on="2026-03-02",
                                    affected_departments=["yh-edu"]), "change_kind must be one of"),
    (lambda p: p.regulation_changed(regulation_id="R", title="t", change_kind="amended", changed_on="2026-03-02",
                                    affected_departments=[]), "at least one"),
    (lambda p: p.duty_changed(department="yh-nowhere", changed_on="2026-03-02", change_kind="added",
                              description="x"), "yh-nowhere"),
    (lambda p: p.catalog_updated(department="yh-edu", submitted_at="next tuesday", catalog_version="1"),
     "data.submitted_at must be an RFC 3339 timestamp"),
    (lambda p: p.objection_raised(objection_id="O1", department="yh-edu", resource_code="",
                                  raised_on="2026-03-02"), "data.resource_code must not be empty"),
])
def test_invalid_events_are_refused_and_nothing_is_sent(publisher, producer, call, reason):
    with pytest.raises(ev.InvalidEvent) as raised:
        call(publisher)
    assert reason in raised.value.reason
    assert producer.sent == []


def test_send_event_validates_a_ready_cloudevent(publisher, producer):
    event = {"specversion": "1.0", "id": "e1", "source": "/x", "type": ev.CATALOG_UPDATED,
             "time": "2026-03-02T10:00:00+08:00", "data": {"department": "yh-edu", "catalog_version": "3"}}
    with pytest.raises(ev.InvalidEvent, match="missing required field data.submitted_at"):
        publisher.send_event(event)
    event["type"] = ev.VIOLATION_DETECTED  # an output type is not something upstream may publish
    with pytest.raises(ev.InvalidEvent, match="unknown type"):
        publisher.send_event(event)
    assert producer.sent == []


def test_oversized_values_are_refused():
    event = validation.build_cloudevent(ev.DUTY_CHANGED, "/x", {"department": "yh-edu", "changed_on": "2026-03-02",
                                                        "change_kind": "added", "description": "d" * 3000})
    validate_event(event, max_bytes=10_000)
    with pytest.raises(ev.InvalidEvent, match="oversized"):
        validate_event(event, max_bytes=1_000)


def test_message_key_prefers_subject_then_department():
    assert message_key({"subject": "a", "data": {"department": "b"}}) == "a"
    assert message_key({"data": {"department": "b"}}) == "b"
    assert message_key({"data": {"affected_departments": ["a", "b"]}}) is None


def _args(argv):
    return build_parser().parse_args(["publish", *argv])


def test_cli_options_build_the_event():
    args = _args(["regulation-change", "--regulation-id", "R-1", "--title", "条例", "--change-kind", "enacted",
                  "--changed-on", "2026-03-02", "--department", "yh-edu,yh-fin", "--department", "yh-civil",
                  "--id", "fixed-id"])
    event = event_from_args(args, "2026-03-03T09:00:00+08:00")
    assert event["id"] == "fixed-id"
    assert event["type"] == ev.REGULATION_CHANGED
    assert event["data"]["affected_departments"] == ["yh-edu", "yh-fin", "yh-civil"]
    validate_event(event)


def test_cli_file_may_hold_data_or_a_whole_event_and_options_override(tmp_path):
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps({"department": "yh-edu", "catalog_version": "v1"}), encoding="utf-8")
    event = event_from_args(_args(["catalog-update", "--file", str(data_file), "--catalog-version", "v2"]),
                            "2026-03-03T09:00:00+08:00")
    assert event["data"] == {"department": "yh-edu", "catalog_version": "v2",
                             "submitted_at": "2026-03-03T09:00:00+08:00"}
    assert event["subject"] == "yh-edu"

    whole = tmp_path / "event.json"
    whole.write_text(json.dumps({"specversion": "1.0", "id": "x1", "source": "/s", "type": ev.DUTY_CHANGED,
                                 "time": "2026-03-01T10:00:00+08:00", "data": {}}), encoding="utf-8")
    with pytest.raises(ev.InvalidEvent, match="publish catalog-update"):
        event_from_args(_args(["catalog-update", "--file", str(whole)]), "2026-03-03T09:00:00+08:00")


def test_cli_refuses_invalid_input_with_reason_and_exit_2(capsys, monkeypatch):
    from cli.main import main

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing may be sent anyway
    status = main(["publish", "duty-change", "--department", "yh-edu", "--changed-on", "2026-13-01",
                   "--change-kind", "added", "--description", "x", "--no-registry-check"])
    assert status == 2
    err = capsys.readouterr().err
    assert "invalid event" in err and "data.changed_on" in err


def test_cli_dry_run_prints_the_valid_event(capsys):
    from cli.main import main

    status = main(["publish", "objection", "--objection-id", "O-1", "--department", "yh-edu",
                   "--resource-code", "R001", "--raised-on", "2026-03-02", "--dry-run", "--no-registry-check"])
    assert status == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["type"] == ev.OBJECTION_RAISED and printed["data"]["objection_id"] == "O-1"


def test_watch_line_keeps_the_explanation_summary_and_names_the_department():
    from streams.subscriber import decode_notification, render_line

    event = validation.build_cloudevent(ev.VIOLATION_DETECTED, ev.TRACKER_SOURCE, {
        "violation_id": "v1", "department": "mzj", "rule": "overdue", "article": "第二十五条（八）",
        "due_date": "2026-03-13",
        "explanation": "区民政局未在规定期限内更新目录。\n触发事件：法规修订。\n期限计算：\n  第1天 2026-02-24\n  第2天 2026-02-25",
    })
    notification = decode_notification("p.catalog.notifications.violations", 0, 7, b"mzj",
                                        ce.encode(event), [])
    line = render_line(notification, {"mzj": "区民政局"})
    assert line.startswith("[违规] 区民政局（mzj） 第二十五条（八） 截止 2026-03-13")
    assert line.endswith("— 区民政局未在规定期限内更新目录。 触发事件：法规修订。")
    assert "\n" not in line and "第1天" not in line


def test_watch_reads_binary_mode_events_too():
    from streams.subscriber import decode_notification

    headers = [("ce_specversion", b"1.0"), ("ce_type", ev.REMINDER.encode()), ("ce_id", b"r1")]
    notification = decode_notification("t", 1, 2, None, b'{"department": "jyj", "stage": 3}', headers)
    assert notification.type == ev.REMINDER and notification.data == {"department": "jyj", "stage": 3}


def test_cli_refuses_a_department_missing_from_the_registry(capsys):
    from cli.main import main

    common = ["--changed-on", "2026-03-02", "--change-kind", "added", "--description", "新增职能", "--dry-run"]
    assert main(["publish", "duty-change", "--department", "yh-nowhere", *common]) == 2
    assert "yh-nowhere" in capsys.readouterr().err
    assert main(["publish", "duty-change", "--department", "jyj", "--counterpart", "mzj", *common]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["counterpart_departments"] == ["mzj"]


def _valid_event_bytes(**data_changes) -> bytes:
    """A regulation change as a file would hold it (valid unless ``data_changes`` spoil it)."""
    return ce.encode({"specversion": "1.0", "id": "R-9", "source": "/yuhua/legal-affairs",
                      "type": ev.REGULATION_CHANGED, "time": "2026-03-02T10:00:00+08:00",
                      "datacontenttype": "application/json",
                      "data": {"regulation_id": "R-9", "title": "长沙市政务数据共享条例", "change_kind": "amended",
                               "changed_on": "2026-03-02", "affected_departments": ["jyj", "mzj"], **data_changes}})


@pytest.fixture
def no_producer(monkeypatch):
    """--validate-only must never make a Kafka producer."""
    import streams.publisher

    def refuse(*args, **kwargs):
        raise AssertionError("--validate-only tried to make a Kafka producer")

    monkeypatch.setattr(streams.publisher, "_kafka_producer", refuse)
    monkeypatch.setattr("kafka.KafkaProducer", refuse)


def test_validate_only_accepts_a_valid_event_and_sends_nothing(tmp_path, capsys, no_producer):
    from cli.main import main

    path = tmp_path / "event.json"
    path.write_bytes(_valid_event_bytes())
    assert main(["publish", "--validate-only", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid gov.catalog.regulation.changed id=R-9" in out
    assert "catalog.regulation-changes" in out and "nothing sent" in out


@pytest.mark.parametrize("content, reason", [
    (_valid_event_bytes(changed_on="2026-02-30"), "data.changed_on"),
    (_valid_event_bytes(affected_departments=["jyj", "yh-nowhere"]), "yh-nowhere"),
    (b'{"specversion": "1.0", "id": "x"', "not JSON"),
    (_valid_event_bytes().replace(b"gov.catalog.regulation.changed", b"gov.catalog.obligation.opened"),
     "unknown type"),
])
def test_validate_only_refuses_an_invalid_event_with_the_reason(tmp_path, capsys, no_producer, content, reason):
    from cli.main import main

    path = tmp_path / "event.json"
    path.write_bytes(content)
    assert main(["publish", "--validate-only", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} is not a valid event" in err and reason in err, err


def test_validate_only_reads_standard_input_and_reports_a_missing_file(tmp_path, capsys, monkeypatch, no_producer):
    import io

    from cli.main import main

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(_valid_event_bytes())))
    assert main(["publish", "--validate-only", "-"]) == 0
    assert capsys.readouterr().out.startswith("standard input: valid")
    assert main(["publish", "--validate-only", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["publish", "--validate-only", "x.json", "objection", "--dry-run"]) == 2  # one or the other
    assert main(["publish"]) == 2  # neither: the usage


class FakeConsumer:
    """High-water marks and positions as kafka-python reports them after a fetch."""

    def __init__(self, high_water: dict):
        self.high_water = high_water
        self.positions = {tp: 0 for tp in high_water}
        self.seeks: list = []

    def highwater(self, tp):
        return self.high_water.get(tp)

    def position(self, tp):
        return self.positions[tp]

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))
        self.positions[tp] = offset


def test_start_at_end_drops_what_was_there_and_jumps_to_the_high_water_mark():
    from streams.subscriber import StartAtEnd

    record = lambda offset: SimpleNamespace(offset=offset)  # noqa: E731
    consumer = FakeConsumer({"p0": 20, "p1": None})
    start = StartAtEnd(consumer)
    start.add(["p0", "p1"])
    kept = list(start.keep_new({"p0": [record(0), record(1)]}))
    assert kept == [] and consumer.seeks == [("p0", 20)]
    assert start.pending == {"p1"}  # its end is not known yet
    consumer.high_water["p1"] = 0  # an empty partition: everything from now on is new
    assert [r.offset for r in start.keep_new({"p0": [record(20)], "p1": [record(0)]})] == [20, 0]
    assert start.pending == set()


# ------------------------------------------------------------------ the catalog register's events (issue 12)

def test_the_publisher_sends_each_data_activity_to_its_topic(publisher, producer):
    publisher.data_aggregated(department="yh-edu", resource_code="EDU-01", period="2026-W47",
                              aggregated_at="2026-11-24T10:00:00+08:00", records=42)
    publisher.data_opened(department="yh-edu", resource_code="EDU-01", opened_at="2026-11-24T11:00:00+08:00")
    publisher.data_shared(department="yh-edu", resource_code="EDU-01", shared_at="2026-11-24T12:00:00+08:00",
                          channel="区自建交换平台")
    parsed = [validation.parse_cloudevent(m["value"], m["headers"]) for m in producer.sent]
    assert {m["topic"] for m in producer.sent} == {"p.catalog.data-activities"}
    assert [p.type for p in parsed] == [ev.DATA_AGGREGATED, ev.DATA_OPENED, ev.DATA_SHARED]
    assert (parsed[0].data.period, parsed[0].data.records) == ("2026-W47", 42)
    assert (parsed[1].data.channel, parsed[2].data.channel) == ("municipal-platform", "区自建交换平台")
    assert all(m["key"] == b"yh-edu" for m in producer.sent)


def test_the_publisher_refuses_an_impossible_period_and_sends_nothing(publisher, producer):
    with pytest.raises(ev.InvalidEvent, match="data.period must be a period like"):
        publisher.data_aggregated(department="yh-edu", resource_code="EDU-01", period="2026/11",
                                  aggregated_at="2026-11-24T10:00:00+08:00")
    assert producer.sent == []


def test_cli_builds_a_complete_catalog_with_resources_and_the_activities():
    update = event_from_args(_args(["catalog-update", "--department", "yh-edu", "--catalog-version", "v9",
                                    "--complete", "--resource",
                                    '{"code": "EDU-01", "action": "added", "update_cycle": "monthly"}']),
                             "2026-03-03T09:00:00+08:00")
    parsed = validate_event(update)[1]
    assert parsed.data.complete is True and parsed.data.resources[0].update_cycle == "monthly"
    aggregated = event_from_args(_args(["data-aggregated", "--department", "yh-edu", "--resource-code", "EDU-01",
                                        "--period", "2026-Q4", "--records", "3"]), "2027-01-05T09:00:00+08:00")
    assert aggregated["data"] == {"department": "yh-edu", "resource_code": "EDU-01", "period": "2026-Q4",
                                  "records": 3, "aggregated_at": "2027-01-05T09:00:00+08:00"}
    opened = event_from_args(_args(["data-opened", "--department", "yh-edu", "--resource-code", "EDU-01"]),
                             "2027-01-05T09:00:00+08:00")
    assert validate_event(opened)[1].data.channel == "municipal-platform"
    shared = event_from_args(_args(["data-shared", "--department", "yh-edu", "--resource-code", "EDU-01",
                                    "--channel", "email", "--shared-at", "2027-01-04T09:00:00+08:00"]),
                            "2027-01-05T09:00:00+08:00")
    assert validate_event(shared)[1].data.shared_at.day == 4


def test_cli_refuses_a_resource_that_is_not_json(capsys):
    from cli.main import main

    assert main(["publish", "catalog-update", "--department", "yh-edu", "--catalog-version", "v1",
                 "--resource", "{code: R}", "--dry-run", "--no-registry-check"]) == 2
    assert "--resource is not JSON" in capsys.readouterr().err


def test_watch_shows_the_resource_and_period_of_the_new_violations_and_why_an_obligation_was_cancelled():
    from streams.subscriber import decode_notification, render_line
    from tests.fakes import Harness, catalog_updated, shanghai

    h = Harness(shanghai(2026, 3, 2, 10))
    h.feed(catalog_updated("c-0", "tjj", "2026-03-02T10:00:00+08:00", resources=[
        {"code": "TJJ-01", "name": "统计月报", "action": "added", "update_cycle": "monthly"}]))
    h.tracker.tick(shanghai(2026, 5, 8))  # April opened and missed, May opened
    h.feed(catalog_updated("c-1", "tjj", "2026-05-10T10:00:00+08:00", resources=[
        {"code": "TJJ-01", "action": "removed"}]))
    lines = {}
    for message in h.outbox():
        notification = decode_notification("t", 0, 0, message.key, ce.encode(message.cloudevent), [])
        lines.setdefault(message.type, []).append(render_line(notification, {"tjj": "区统计局"}))
    violation, = lines[ev.VIOLATION_DETECTED]
    assert violation.startswith("[违规] 区统计局（tjj） 第二十五条（二） 截止 2026-05-07 资源 TJJ-01 期次 2026-04 "
                                "规则 overdue — 区统计局（tjj）未按更新时限归集数据"), violation
    cancelled, = lines[ev.OBLIGATION_CANCELLED]
    assert "[义务撤销]" in cancelled and "期次 2026-05" in cancelled and "原因: 数据资源已从目录中移除" in cancelled
