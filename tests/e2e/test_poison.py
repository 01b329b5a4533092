"""One poison message between valid ones in one batch, on the real worker (SQLite and PostgreSQL).

The poison passes the parser and fails when applied: the test database gets a
rule of its own that refuses the obligation of event ``POISON`` (a CHECK
constraint on PostgreSQL, a trigger on SQLite), so the failure is a real
database error met half-way through the batch's transaction.
"""
from __future__ import annotations

import base64
from collections import Counter

import pytest
import sqlalchemy as sa

from models.cloudevents import encode
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from streams.broker import wait_until
from streams.topics import DEAD_LETTERS as DLQ
from streams.topics import OBLIGATIONS as OBL
from streams.topics import REGULATION_CHANGES as REG
from tests.e2e.test_pipeline import regulation

pytestmark = [pytest.mark.broker, pytest.mark.slow]

REFUSE_POISON = {
    "postgresql": "ALTER TABLE obligations ADD CONSTRAINT no_poison CHECK (trigger_event_id <> 'POISON')",
    "sqlite": "CREATE TRIGGER no_poison BEFORE INSERT ON obligations WHEN NEW.trigger_event_id = 'POISON' "
              "BEGIN SELECT RAISE(ABORT, 'no_poison: this database refuses event POISON'); END",
}


def refuse_poison(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(REFUSE_POISON[engine.dialect.name])
    engine.dispose()


def test_a_poison_message_in_a_batch_is_dead_lettered_and_the_valid_ones_applied(pipeline):
    refuse_poison(pipeline.database_url)
    events = {name: regulation(name, "2026-03-02", "jyj") for name in ["V1", "V2", "POISON", "V3", "V4"]}
    for event in events.values():  # one key, one partition: the worker reads them as one batch
        pipeline.publisher.send_event(REG, event, key="jyj")
    poison_bytes = encode(events["POISON"])

    worker = pipeline.start_worker()
    pipeline.wait_for(lambda o: len(o.events(DLQ)) >= 1 and len(o.events(OBL)) >= 4, timeout=60,
                      what="four obligations and one dead letter")
    pipeline.output.settle()
    opened = sorted(e["data"]["trigger_event_id"] for e in pipeline.output.events(OBL))
    assert opened == ["V1", "V2", "V3", "V4"]
    letter, = pipeline.output.events(DLQ)
    reason = letter["data"]["reason"]
    assert reason.startswith("event POISON (gov.catalog.regulation.changed) could not be applied: "), reason
    assert "the database refused it as inconsistent with its rules" in reason and "no_poison" in reason
    assert base64.b64decode(letter["data"]["value_base64"]) == poison_bytes
    assert letter["data"]["event_id"] == "POISON" and letter["data"]["offset"] == 2
    ingest = worker.wait_healthy()["worker"]["ingest"]
    assert (ingest["isolated"], ingest["state"]) == (1, "ok") and ingest["splits"] >= 1, ingest

    def stored():
        return {table.name: pipeline.sql(sa.select(sa.func.count()).select_from(table))[0][0]
                for table in (t.obligations, t.outbox, t.processed_events, t.obligation_history)}

    before = stored()
    assert before["obligations"] == 4 and before["processed_events"] == 4

    # A restart that reads everything again (a new consumer group: no committed offset) changes nothing.
    worker.stop()
    again = pipeline.start_worker(TRACKER_CONSUMER_GROUP=pipeline.prefix + "replay")
    wait_until(lambda: (again.check_alive(), again.wait_healthy()["worker"]["ingest"]["messages"] >= 5)[1], 60,
               what="the replay of the five messages")
    pipeline.output.settle(10)
    assert stored() == before
    assert len(pipeline.output.events(DLQ)) == 1
    assert Counter(e["id"] for e in pipeline.output.events(OBL)) == Counter(
        {e["id"]: 1 for e in pipeline.output.events(OBL)})
    assert len(pipeline.output.events(OBL)) == 4
