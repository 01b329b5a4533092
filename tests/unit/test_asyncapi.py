"""The AsyncAPI document and its JSON Schemas agree with what the tracker really accepts and publishes.

The schemas come from ``models.contract`` (the parser's own records), so these tests check the other direction:
events the parser accepts validate against the published schemas, the tracker's own outputs validate against
theirs and use no field the document does not describe, and the shipped copy in docs/ is current.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from config.settings import Settings
from models import cloudevents as ce
from models import events as ev
from streams import asyncapi, topics
from streams.demo import demo_feed_for
from tests.contract_check import problems
from tests.fakes import Harness, catalog_updated, objection_raised, regulation_changed, rejected, shanghai

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = asyncapi.document()
SCHEMAS = DOCUMENT["components"]["schemas"]


def errors(event_type: str, event: dict) -> list[str]:
    assert event["type"] == event_type
    return problems(event)


def test_every_schema_is_valid_json_schema_2020_12():
    for name, schema in SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
    assert {m["name"] for m in DOCUMENT["components"]["messages"].values()} == set(topics.TOPIC_OF_TYPE)


def test_every_topic_is_a_channel_with_its_types_and_the_right_operation():
    channels = {c["address"]: c for c in DOCUMENT["channels"].values()}
    assert set(channels) == set(topics.TYPES_OF_TOPIC)
    for topic, types in topics.TYPES_OF_TOPIC.items():
        names = {DOCUMENT["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]["name"]
                 for ref in channels[topic]["messages"].values()}
        assert names == set(types)
    actions = {op["channel"]["$ref"].rsplit("/", 1)[1]: op["action"] for op in DOCUMENT["operations"].values()}
    for channel_id, channel in DOCUMENT["channels"].items():
        assert actions[channel_id] == ("receive" if channel["address"] in topics.INPUT_TOPICS else "send")


def test_every_event_of_the_demo_feed_validates_against_its_schema():
    feed = demo_feed_for(Settings.from_env({}), date(2026, 3, 16))
    events = [m.event for m in feed if m.event is not None]
    assert events
    for event in events:
        assert errors(event["type"], json.loads(ce.encode(event))) == [], event["id"]


def test_a_schema_refuses_what_the_parser_refuses():
    event = json.loads(ce.encode(demo_feed_for(Settings.from_env({}), date(2026, 3, 16))[0].event))
    bad = [
        {**event, "data": {**event["data"], "changed_on": "2026-3-2"}},
        {**event, "data": {**event["data"], "affected_departments": []}},
        {**event, "data": {**event["data"], "change_kind": "rewritten"}},
        {**event, "data": {**event["data"], "title": "   "}},
        {**event, "data": {**event["data"], "title": "a\u0000b"}},
        {**event, "data": {k: v for k, v in event["data"].items() if k != "regulation_id"}},
        {**event, "specversion": "0.3"},
    ]
    for item in bad:
        assert errors(event["type"], item), item


@pytest.fixture
def outputs():
    """One of each output the tracker writes, from the real service on fakes."""
    h = Harness(shanghai(2026, 3, 2, 10))
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj", "mzj"]))
    h.feed(objection_raised("evt-2", "obj-1", "jyj", "2026-03-02"), topic=topics.DATA_OBJECTIONS)
    h.feed(catalog_updated("c-1", "jyj", "2026-03-25T10:00:00+08:00",
                           resources=[{"code": "r1", "action": "modified", "share_type": "none",
                                       "previous_share_type": "unconditional"}]), topic=topics.CATALOG_UPDATES)
    h.tracker.apply_batch([rejected(topics.DUTY_CHANGES, 0, 3, b"k", b"{oops", (), "the message is not JSON")])
    for day in range(2, 31):
        h.tracker.tick(shanghai(2026, 3, day, 10))
    return [m.cloudevent for m in h.outbox()]


def test_every_output_validates_and_uses_only_described_fields(outputs):
    types = {event["type"] for event in outputs}
    assert {ev.OBLIGATION_OPENED, ev.OBLIGATION_COMPLETED, ev.REMINDER, ev.VIOLATION_DETECTED,
            ev.EVENT_REJECTED} <= types
    for event in outputs:
        assert problems(json.loads(ce.encode(event))) == [], event


def test_the_shipped_document_is_current():
    shipped = json.loads((ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(DOCUMENT)), "run: catalog-tracker asyncapi --output docs/asyncapi.json"


def test_the_document_and_its_summary_are_served():
    import asyncio

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from api import asyncapi as route

    async def fetch():
        app = web.Application()
        route.setup(app)
        async with TestClient(TestServer(app)) as client:
            answer = await client.get("/api/asyncapi.json")
            page = await client.get("/docs/events")
            return answer.status, await answer.json(), page.status, page.content_type, await page.text()

    status, document, page_status, content_type, html = asyncio.run(fetch())
    assert status == 200 and document["asyncapi"] == "3.0.0"
    assert page_status == 200 and content_type == "text/html"
    for topic in topics.TYPES_OF_TOPIC:
        assert f"<code>{topic}</code>" in html
    assert "<code>affected_departments</code>" in html and "every department whose catalog must follow" in html


def test_every_bad_input_the_parser_refuses_for_a_data_field_fails_the_schema_too():
    """The corpus of issue 9 (tests/data/bad_inputs.py): what the worker refuses in ``data``, the schema refuses."""
    from tests.data.bad_inputs import corpus

    checked = []
    for item in corpus():
        if item.stage != "parser" or item.value is None or "data" not in item.reason:
            continue
        try:
            event = json.loads(item.value)  # lenient on purpose: NaN, duplicate keys and the like reach the schema
        except ValueError:
            continue  # not JSON at all: no schema to ask
        if isinstance(event, dict) and event.get("type") in ev.INPUT_TYPES:
            checked.append(item.kind)
            assert problems(event), f"{item.kind}: the parser refuses it ({item.reason}), the schema does not"
    assert len(checked) >= 50, checked
