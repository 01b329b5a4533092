"""The batch applier on the real service with an in-memory unit of work that fails on purpose.

Faults are injected through the unit of work: a repository that raises when it
is given one event's obligation (a deterministic failure: the data), or unit
of work entries that fail as a locked or unreachable database does (transient).
"""
from __future__ import annotations

import asyncio
import base64
import sqlite3
import time

import psycopg2
import psycopg2.errors
import pytest
import sqlalchemy.exc as sa_exc

from models import events as ev
from models.obligations import ConcurrentUpdate
from models.service import Rejected
from models.sql import errors
from streams.ingest import BatchApplier
from tests.fakes import (
    FakeRepository,
    FakeStore,
    FakeUnitOfWork,
    Harness,
    accepted_at,
    regulation_changed,
    rejected,
    shanghai,
)

TOPIC = "catalog.regulation-changes"


class FaultyRepository(FakeRepository):
    def add_obligation(self, obligation):
        failure = self.store.poison.get(obligation.trigger_event_id)
        if failure is not None:
            raise failure
        return super().add_obligation(obligation)


class FaultyUnitOfWork(FakeUnitOfWork):
    def __enter__(self):
        if self.store.outage > 0:
            self.store.outage -= 1
            self.store.seen_while_down.append(self.store.observe())
            raise self.store.outage_error
        super().__enter__()
        self.repo = FaultyRepository(self.working, self.store)
        return self


class FaultyStore(FakeStore):
    def __init__(self):
        super().__init__()
        self.poison: dict[str, BaseException] = {}
        self.outage = 0  # the next N units of work fail as an unreachable database does
        self.outage_error: BaseException = locked()
        self.seen_while_down: list = []
        self.observe = lambda: None

    def __call__(self):
        return FaultyUnitOfWork(self)


def locked() -> BaseException:
    return sa_exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def surrogate_error() -> UnicodeEncodeError:
    return UnicodeEncodeError("utf-8", "标题\ud800", 2, 3, "surrogates not allowed")


@pytest.fixture
def world():
    store = FaultyStore()
    harness = Harness(shanghai(2026, 3, 2, 10), uow_factory=store)
    harness.store = store  # the harness reads what the store holds
    return harness, store


def batch(*event_ids: str):
    return [accepted_at(TOPIC, 0, offset, regulation_changed(event_id, "2026-03-02", ["jyj"]))
            for offset, event_id in enumerate(event_ids)]


def dead_letters(harness):
    return [m.cloudevent["data"] for m in harness.outbox(ev.EVENT_REJECTED)]


def test_a_poison_message_between_valid_ones_is_dead_lettered_alone_and_the_rest_applied(world):
    harness, store = world
    store.poison["POISON"] = surrogate_error()
    items = batch("R0", "R1", "R2", "POISON", "R4", "R5")
    items.append(rejected(TOPIC, 0, 6, b"k", b"not json", (), "the message is not JSON: Expecting value"))
    applier = BatchApplier(harness.tracker.apply_batch)

    asyncio.run(applier.apply(items))

    opened = sorted(o.trigger_event_id for o in harness.obligations())
    assert opened == ["R0", "R1", "R2", "R4", "R5"]
    letters = dead_letters(harness)
    assert sorted(letter["offset"] for letter in letters) == [3, 6]
    poison, = [letter for letter in letters if letter["offset"] == 3]
    assert poison["reason"].startswith("event POISON (gov.catalog.regulation.changed) could not be applied: ")
    assert "cannot be encoded for storage" in poison["reason"] and "surrogates not allowed" in poison["reason"]
    assert "Error(" not in poison["reason"] and "Traceback" not in poison["reason"]
    assert poison["event_id"] == "POISON" and base64.b64decode(poison["value_base64"])  # the event as read
    assert (applier.stats.isolated, applier.stats.accepted, applier.stats.rejected) == (1, 5, 2)
    assert applier.stats.splits >= 2 and applier.stats.state == "ok"

    # A replay of the same batch (a restart before the offset commit) changes nothing.
    rows, obligations = len(harness.outbox()), len(harness.obligations())
    asyncio.run(BatchApplier(harness.tracker.apply_batch).apply(items))
    assert (len(harness.outbox()), len(harness.obligations())) == (rows, obligations)


def test_poison_at_both_ends_of_a_large_batch_leaves_every_other_message_applied(world):
    harness, store = world
    names = [f"E{i}" for i in range(64)]
    names[0], names[-1] = "P-first", "P-last"
    store.poison["P-first"] = ValueError("the department's calendar cannot count from this day")
    store.poison["P-last"] = sa_exc.IntegrityError("INSERT INTO obligations", {},
                                                   sqlite3.IntegrityError("CHECK constraint failed: poison"))
    applier = BatchApplier(harness.tracker.apply_batch)
    asyncio.run(applier.apply(batch(*names)))
    assert len(harness.obligations()) == 62
    reasons = {letter["event_id"]: letter["reason"] for letter in dead_letters(harness)}
    assert set(reasons) == {"P-first", "P-last"}
    assert "applying it failed (ValueError): the department's calendar cannot count" in reasons["P-first"]
    assert ("the database refused it as inconsistent with its rules: CHECK constraint failed: poison"
            in reasons["P-last"])


def test_a_transient_failure_holds_the_batch_as_long_as_it_lasts_and_never_gives_up(world):
    harness, store = world
    applier = BatchApplier(harness.tracker.apply_batch, retry_delays=(0,))
    store.outage = 200  # far more attempts than any fixed retry budget
    store.observe = lambda: (applier.stats.state, applier.stats.cause)

    asyncio.run(applier.apply(batch("R0", "R1")))

    assert store.outage == 0
    assert sorted(o.trigger_event_id for o in harness.obligations()) == ["R0", "R1"]
    assert dead_letters(harness) == []  # held, not dead-lettered
    assert store.seen_while_down[0] == ("ok", None)  # before the first failure was seen
    assert all(state == "degraded" and "database busy" in cause for state, cause in store.seen_while_down[1:])
    assert (applier.stats.state, applier.stats.cause, applier.stats.outages) == ("ok", None, 1)
    assert applier.stats.retries == 200 and applier.stats.isolated == 0


def test_the_probe_ends_the_back_off_as_soon_as_the_database_answers(world):
    harness, store = world
    probes = []

    def probe():
        probes.append(time.monotonic())
        if len(probes) < 3:
            raise ConnectionRefusedError("connection refused")

    store.outage = 1
    store.outage_error = sa_exc.OperationalError("connect", {}, psycopg2.OperationalError("connection refused"))
    applier = BatchApplier(harness.tracker.apply_batch, retry_delays=(60,), probe=probe, probe_interval=0.01)
    started = time.monotonic()
    asyncio.run(applier.apply(batch("R0")))
    assert time.monotonic() - started < 30  # far less than the 60 s back-off
    assert len(probes) == 3 and len(harness.obligations()) == 1


def test_a_rejected_message_whose_reason_cannot_be_stored_is_still_dead_lettered(world):
    harness, store = world
    calls = []
    real_apply = harness.tracker.apply_batch

    def apply(items):  # the first reason (with a surrogate from a parser bug) cannot be stored
        calls.append([getattr(i, "reason", None) for i in items])
        if any(isinstance(i, Rejected) and "\ud800" in i.reason for i in items):
            raise surrogate_error()
        return real_apply(items)

    item = rejected(TOPIC, 0, 0, None, b"{}", (), "bad title \ud800")
    asyncio.run(BatchApplier(apply).apply([item]))
    letter, = dead_letters(harness)
    assert "bad title \\ud800" in letter["reason"] and "could not be stored as it was" in letter["reason"]


@pytest.mark.parametrize("failure, transient", [
    (locked(), True),
    (sa_exc.OperationalError("select", {}, sqlite3.OperationalError("no such table: obligations")), False),
    (sa_exc.OperationalError("connect", {}, psycopg2.OperationalError("could not connect to server")), True),
    (sa_exc.OperationalError("select", {}, psycopg2.errors.SerializationFailure("could not serialize")), True),
    (sa_exc.InterfaceError("select", {}, psycopg2.InterfaceError("connection already closed")), True),
    (sa_exc.DBAPIError("select", {}, Exception("gone"), connection_invalidated=True), True),
    (sa_exc.IntegrityError("insert", {}, psycopg2.errors.CheckViolation("violates check constraint")), False),
    (sa_exc.DataError("insert", {}, psycopg2.errors.StringDataRightTruncation("value too long")), False),
    (ConcurrentUpdate("obligation x changed since it was read"), True),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (ValueError("A string literal cannot contain NUL (0x00) characters."), False),
    (surrogate_error(), False),
    (KeyError("policy"), False),
])
def test_failures_are_sorted_into_transient_and_deterministic_in_one_place(failure, transient):
    assert errors.is_transient(failure) is transient
    text = errors.cause(failure) if transient else errors.describe(failure)
    assert text and "\n" not in text and "Traceback" not in text
