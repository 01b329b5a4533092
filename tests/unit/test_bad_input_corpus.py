"""The bad-input corpus (``tests/data/bad_inputs.py``) through ``decode_message``: fast, no broker.

Each kind the parser refuses is ``Rejected`` with its expected reason and the
original bytes and headers; the kinds the service refuses parse (their dead
letter comes from the tracker: see the e2e run of the same corpus). Every
valid base event of the corpus parses, so each bad kind differs from a good
event in the one way its name says.
"""
from __future__ import annotations

import pytest

from models import events as ev
from models.cloudevents import normalise_headers
from models.service import Accepted, Rejected
from streams.ingest import decode_message
from streams.topics import TYPES_OF_TOPIC
from tests.data.bad_inputs import MAX_BYTES, STRUCTURED, TOPIC_OF, base, corpus, valid_after
from models.cloudevents import encode

CORPUS = corpus()
TYPES = dict(TYPES_OF_TOPIC)


def decode(topic, value, headers):
    return decode_message(topic, 0, 5, b"key", value, list(headers), max_bytes=MAX_BYTES, types_of_topic=TYPES)


def test_the_corpus_has_at_least_80_kinds():
    assert len(CORPUS) >= 80
    assert sum(item.stage == "parser" for item in CORPUS) >= 80


@pytest.mark.parametrize("event_type", sorted(TOPIC_OF))
def test_each_base_event_is_valid_on_its_topic(event_type):
    item = decode(TOPIC_OF[event_type], encode(base(event_type, "good")), STRUCTURED)
    assert isinstance(item, Accepted), getattr(item, "reason", None)
    assert isinstance(decode(TOPIC_OF[ev.REGULATION_CHANGED], valid_after(3), STRUCTURED), Accepted)


@pytest.mark.parametrize("bad", CORPUS, ids=[item.kind for item in CORPUS])
def test_each_bad_input_gets_its_reason_and_keeps_its_bytes(bad):
    item = decode(bad.topic, bad.value, bad.headers)
    if bad.stage == "service":
        assert isinstance(item, Accepted), getattr(item, "reason", None)
        return
    assert isinstance(item, Rejected)
    assert bad.reason in item.reason, item.reason
    assert "Traceback" not in item.reason and "Error(" not in item.reason
    assert item.origin.value == bad.value and item.origin.headers == normalise_headers(list(bad.headers))
    assert (item.origin.topic, item.origin.offset, item.origin.key) == (bad.topic, 5, b"key")
