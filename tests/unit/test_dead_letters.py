"""Dead letters as the tracker writes them, read back, chosen and planned for redrive (no broker)."""
from __future__ import annotations

import io
import json

import pytest

from cli.progress import Progress
from models import cloudevents as ce
from models.messages import dead_letter
from streams.dead_letters import (REDRIVE_COUNT_HEADER, REDRIVEN_FROM_HEADER, DeadLetter, NotADeadLetter,
                                  Selection, collect, dead_letter_of, parse_since, plan_redrive, redrive,
                                  redrive_headers)
from streams.ingest import KafkaOrigin
from tests.fakes import shanghai

TOPIC = "p.catalog.regulation-changes"
INPUTS = [TOPIC, "p.catalog.duty-changes"]


def written(offset: int, reason: str, *, headers=(), at=None, topic: str = TOPIC, value: bytes | None = b"{}",
            location=None) -> tuple[tuple[str, int, int], dict]:
    """A dead letter exactly as the tracker's outbox sends it, decoded as a reader of the topic sees it."""
    origin = KafkaOrigin(topic, 1, offset, b"jyj", value, ((ce.CONTENT_TYPE_HEADER, b"application/cloudevents+json"),
                                                          *headers))
    message = dead_letter(origin=origin, reason=reason, now=at or shanghai(2026, 3, 2, 10 + offset % 10))
    return (location or ("p.catalog.dead-letters", 0, offset)), json.loads(ce.encode(message.cloudevent))


def test_a_dead_letter_gives_back_the_original_bytes_key_and_headers():
    location, event = written(7, "unknown department 'xq'", headers=[("traceparent", b"00-abc")],
                              value=b'{"id": "E7"}')
    letter = dead_letter_of(event, location)
    assert (letter.topic, letter.partition, letter.offset) == (TOPIC, 1, 7)
    assert (letter.key, letter.value) == (b"jyj", b'{"id": "E7"}')
    assert letter.headers == ((ce.CONTENT_TYPE_HEADER, b"application/cloudevents+json"), ("traceparent", b"00-abc"))
    assert letter.rejected_at == shanghai(2026, 3, 2, 17) and letter.redrive_count == 0
    assert letter.location == location and letter.id == event["id"]
    with pytest.raises(NotADeadLetter):
        dead_letter_of({"type": "gov.catalog.violation.detected", "data": {}})
    with pytest.raises(NotADeadLetter):
        dead_letter_of({**event, "data": {**event["data"], "value_base64": "not base64!"}})


def test_redrive_headers_count_up_and_name_the_letter():
    _, event = written(1, "x", headers=[(REDRIVE_COUNT_HEADER, b"2"), (REDRIVEN_FROM_HEADER, b"dl-old")])
    letter = dead_letter_of(event)
    assert letter.redrive_count == 2 and letter.redriven_from == "dl-old"
    headers = redrive_headers(letter)
    assert headers[0] == (ce.CONTENT_TYPE_HEADER, b"application/cloudevents+json")
    assert [h for h in headers if h[0].startswith("catalog-tracker")] == [
        (REDRIVE_COUNT_HEADER, b"3"), (REDRIVEN_FROM_HEADER, letter.id.encode())]


def test_filters_combine_and_the_topic_may_be_given_without_the_prefix():
    records = [written(0, "unknown department 'xq': not in the department registry"),
               written(1, "the message is not JSON", at=shanghai(2026, 3, 5)),
               written(2, "Unknown department 'zz'", topic="p.catalog.duty-changes", at=shanghai(2026, 3, 6))]
    chosen = lambda **kw: [l.offset for l in collect(records, Selection(prefix="p.", **kw)).chosen]  # noqa: E731
    assert chosen() == [0, 1, 2]
    assert chosen(reason="UNKNOWN DEPARTMENT") == [0, 2]
    assert chosen(reason="unknown department", topic="catalog.regulation-changes") == [0]
    assert chosen(topic="p.catalog.duty-changes") == [2]
    assert chosen(since=parse_since("2026-03-05")) == [1, 2]
    assert chosen(since=parse_since("2026-03-05T12:00:00+08:00")) == [2]
    first = dead_letter_of(records[0][1])
    assert chosen(ids=frozenset({first.id})) == [0]
    with pytest.raises(ValueError, match="--since 'last week'"):
        parse_since("last week")


def test_a_letter_redriven_and_rejected_again_is_superseded_and_the_limit_refuses():
    original = written(0, "unknown department 'xq'")
    first = dead_letter_of(original[1])
    again = written(5, "unknown department 'xq'", headers=redrive_headers(first)[1:])
    second = dead_letter_of(again[1])
    third_time = written(9, "unknown department 'xq'", headers=[(REDRIVE_COUNT_HEADER, b"3")])
    unrelated_topic = written(3, "x", topic="p.catalog.notifications.reminders")
    no_bytes = written(4, "the message has no value", value=None)
    letters = collect([original, again, third_time, unrelated_topic, no_bytes], Selection())
    assert letters.superseded(first) == second.id and letters.superseded(second) is None
    plan = plan_redrive(letters, input_topics=INPUTS, max_redrives=3)
    assert [l.offset for l in plan.send] == [5]
    assert [(l.offset, newer) for l, newer in plan.superseded] == [(0, second.id)]
    assert [l.offset for l in plan.at_limit] == [9]
    assert sorted((l.offset, why.split(" ")[0]) for l, why in plan.not_redrivable) == [
        (3, "p.catalog.notifications.reminders"), (4, "the")]
    assert plan_redrive(letters, input_topics=INPUTS, max_redrives=1).at_limit[0].offset == 5


def test_limit_sends_the_first_n_and_says_how_many_are_left():
    letters = collect([written(n, "x") for n in range(5)], Selection())
    plan = plan_redrive(letters, input_topics=INPUTS, limit=2)
    assert [l.offset for l in plan.send] == [0, 1] and plan.over_limit_n == 3


class FakeProducer:
    def __init__(self, partitions: set[int], fail_offsets: set[int] = frozenset()):
        self.partitions, self.fail_offsets, self.sent = partitions, fail_offsets, []

    def partitions_for(self, topic):
        return self.partitions

    def send(self, topic, value=None, key=None, headers=None, partition=None):
        self.sent.append((topic, partition, key, value, headers))
        fail = any(h == (REDRIVEN_FROM_HEADER, f"fail-{len(self.sent)}".encode()) for h in headers)
        return FakeFuture(partition if partition is not None else 0, len(self.sent), fail)


class FakeFuture:
    def __init__(self, partition, offset, fail):
        self.partition, self.offset, self.fail = partition, offset, fail

    def get(self, timeout=None):
        if self.fail:
            raise TimeoutError("no answer")
        return self


def test_redrive_sends_bytes_key_and_headers_to_the_original_partition():
    letters = [dead_letter_of(written(n, "x", value=f'{{"n": {n}}}'.encode())[1]) for n in range(3)]
    producer = FakeProducer(partitions={0, 1})
    ticks = []
    outcome = redrive(letters, producer, on_sent=lambda: ticks.append(1), chunk=2)
    assert [(topic, partition, key, value) for topic, partition, key, value, _ in producer.sent] == [
        (TOPIC, 1, b"jyj", b'{"n": 0}'), (TOPIC, 1, b"jyj", b'{"n": 1}'), (TOPIC, 1, b"jyj", b'{"n": 2}')]
    assert all((REDRIVE_COUNT_HEADER, b"1") in headers for *_, headers in producer.sent)
    assert len(outcome.sent) == 3 and not outcome.failed and len(ticks) == 3
    fewer = FakeProducer(partitions={0})  # the topic has fewer partitions now: the partitioner decides
    redrive(letters[:1], fewer)
    assert fewer.sent[0][1] is None


def test_a_failed_send_is_reported_and_the_others_go_on():
    letters = [DeadLetter(id=f"fail-{n}" if n == 2 else f"ok-{n}", rejected_at=None, reason="x", topic=TOPIC,
                          partition=0, offset=n, key=None, value=b"{}", headers=()) for n in (1, 2, 3)]
    outcome = redrive(letters, FakeProducer(partitions={0}))
    assert [l.id for l, *_ in outcome.sent] == ["ok-1", "ok-3"]
    assert [(l.id, why) for l, why in outcome.failed] == [("fail-2", "TimeoutError: no answer")]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_a_plain_count_otherwise():
    terminal = Terminal()
    with Progress(4, "redriven", terminal, redraw_seconds=0) as progress:
        for _ in range(4):
            progress.advance()
    assert terminal.getvalue().count("\r") >= 4
    assert terminal.getvalue().endswith("\rredriven [" + "#" * 30 + "] 100.0% 4/4\n")
    assert "\rredriven [" + "#" * 15 + "-" * 15 + "]  50.0% 2/4" in terminal.getvalue()
    pipe = io.StringIO()
    with Progress(4, "redriven", pipe) as progress:
        for _ in range(4):
            progress.advance()
    assert pipe.getvalue() == "redriven: 4/4\n"


def test_the_command_refuses_bad_options_before_reading_anything(capsys, monkeypatch):
    from cli.main import main

    monkeypatch.setattr("streams.dead_letters.read_dead_letters",
                        lambda *a, **k: pytest.fail("read the topic despite a bad option"))
    assert main(["dead-letters", "list", "--since", "yesterday"]) == 2
    assert "--since 'yesterday' is neither a date" in capsys.readouterr().err
    assert main(["dead-letters"]) == 2
    with pytest.raises(SystemExit):
        main(["dead-letters", "redrive", "--limit", "0"])
    assert "must be at least 1" in capsys.readouterr().err
