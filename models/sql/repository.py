"""The SQL adapter of the repository port and the unit of work (``models.ports``).

The service only talks to ``AbstractRepository`` inside a unit of work; this
adapter maps obligations to rows with SQLAlchemy Core (``models.sql.tables``),
and a fake in ``tests/fakes.py`` keeps the same contract in memory.

Writes that may race (reminders, violations, outbox rows, processed events)
are inserts that ignore an existing key and report whether they inserted;
obligation updates carry a version and raise ``ConcurrentUpdate`` when
someone else changed the row first, so the whole transaction is retried.
"""
from __future__ import annotations

import operator
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import cloudevents as ce
from models.catalog import ACTIVE, ENTRY_FIELDS, CatalogEntry
from models.events import EVENT_REJECTED
from models.obligations import OPEN, UNFINISHED, ConcurrentUpdate, Obligation
from models.ports import AbstractRepository, AbstractUnitOfWork, HeldEvent, PendingResolution
from models.sql import tables as t
from models.sql.counts import CountChanges, obligation_key
from models.sql.engine import (
    insert_ignoring_duplicates,
    insert_many_ignoring_duplicates,
    insert_returning_new_keys,
    insert_rows,
    lock_for_transaction,
    write_connection,
)
from models.sql.outbox import headers_to_json
from models.sql.reschedule import SqlRescheduleStore

# ------------------------------------------------------------------ SQL adapter

_OBLIGATION_FIELDS = [c.name for c in t.obligations.columns]


_OBLIGATION_VALUES = operator.attrgetter(*_OBLIGATION_FIELDS)  # one C call for every column


def obligation_to_row(ob: Obligation) -> dict[str, Any]:
    row = dict(zip(_OBLIGATION_FIELDS, _OBLIGATION_VALUES(ob)))
    row["overdue_citations"] = list(ob.overdue_citations)
    row["reminder_stages"] = list(ob.reminder_stages)
    row["stages_sent"] = list(ob.stages_sent)
    return row


def obligation_from_row(row) -> Obligation:
    values = dict(row)
    values["overdue_citations"] = tuple(values["overdue_citations"])
    values["reminder_stages"] = tuple(values["reminder_stages"])
    values["stages_sent"] = tuple(values["stages_sent"])
    return Obligation(**values)


_O = t.obligations.c
_P = t.pending_resolutions.c
_SELECT_OBLIGATIONS = sa.select(t.obligations)
_COUNTED_BEFORE = sa.select(_O.department, _O.start_day, _O.kind, _O.status, _O.on_time, _O.working_days_taken) \
    .where(_O.id == sa.bindparam("id"))
# Statements built once: building a statement costs more than running it (see models.sql.engine).
_UPDATE_OBLIGATION = sa.update(t.obligations).where(_O.id == sa.bindparam("b_id"),
                                                     _O.version == sa.bindparam("b_version"))
_BY_TRIGGER = _SELECT_OBLIGATIONS.where(_O.trigger_event_id == sa.bindparam("trigger"),
                                        _O.department == sa.bindparam("department"),
                                        _O.kind == sa.bindparam("kind")).order_by(_O.id)
_UNFINISHED = _SELECT_OBLIGATIONS.where(_O.department == sa.bindparam("department"), _O.kind == sa.bindparam("kind"),
                                        _O.status.in_(UNFINISHED),
                                        _O.start_day <= sa.bindparam("started_by")).order_by(_O.id)
_BY_SUBJECT = _SELECT_OBLIGATIONS.where(_O.kind == sa.bindparam("kind"), _O.department == sa.bindparam("department"),
                                        _O.subject_ref == sa.bindparam("subject")).order_by(_O.id)
_DUE_OVERDUE = (_SELECT_OBLIGATIONS.where(_O.status == OPEN, _O.due_end <= sa.bindparam("now"))
                .order_by(_O.due_end, _O.id).limit(sa.bindparam("limit")))
_DUE_REMINDER = (_SELECT_OBLIGATIONS.where(_O.status == OPEN, _O.next_reminder_at <= sa.bindparam("now"),
                                           _O.due_end > sa.bindparam("now"))  # past the end: overdue, not reminded
                 .order_by(_O.next_reminder_at, _O.id).limit(sa.bindparam("limit")))
_OPEN = _SELECT_OBLIGATIONS.where(_O.status == OPEN).order_by(_O.id)
_PENDING_CONDITION = sa.and_(_P.department == sa.bindparam("department"),
                             _P.trigger_event_id == sa.bindparam("trigger"))
_SELECT_PENDING = sa.select(t.pending_resolutions).where(_PENDING_CONDITION).order_by(_P.submitted_at,
                                                                                      _P.update_event_id)
_DELETE_PENDING = sa.delete(t.pending_resolutions).where(_PENDING_CONDITION)
_ANY_PENDING = sa.select(sa.literal(1)).select_from(t.pending_resolutions).limit(1)
_R = t.catalog_resources.c
_H = t.held_events.c
_SELECT_ENTRIES = sa.select(t.catalog_resources).where(_R.department == sa.bindparam("department"))
_SELECT_SOME_ENTRIES = _SELECT_ENTRIES.where(_R.code.in_(sa.bindparam("codes", expanding=True)))
_UPDATE_ENTRY = sa.update(t.catalog_resources).where(_R.department == sa.bindparam("b_department"),
                                                     _R.code == sa.bindparam("b_code"),
                                                     _R.version == sa.bindparam("b_version"))
_DUE_PERIODS = (sa.select(t.catalog_resources).where(_R.next_period_start <= sa.bindparam("now"), _R.status == ACTIVE)
                .order_by(_R.next_period_start, _R.department, _R.code).limit(sa.bindparam("limit")))
_BY_RESOURCE = _SELECT_OBLIGATIONS.where(_O.department == sa.bindparam("department"),
                                         _O.resource_code == sa.bindparam("resource_code"),
                                         _O.kind == sa.bindparam("kind")).order_by(_O.id)
_HELD_CONDITION = sa.and_(_H.department == sa.bindparam("department"), _H.resource_code == sa.bindparam("code"))
_SELECT_HELD = sa.select(t.held_events).where(_HELD_CONDITION).order_by(_H.event_time, _H.source, _H.event_id)
_DELETE_HELD = sa.delete(t.held_events).where(_HELD_CONDITION)
_INSERT_CATALOG_HISTORY = sa.insert(t.catalog_history)
_ANY_HELD = sa.select(sa.literal(1)).select_from(t.held_events).where(_H.department == sa.bindparam("department")) \
    .limit(1)
_FORGET_PROCESSED = sa.delete(t.processed_events).where(t.processed_events.c.source == sa.bindparam("source"),
                                                        t.processed_events.c.event_id == sa.bindparam("event_id"))


def entry_to_row(entry: CatalogEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


def entry_from_row(row) -> CatalogEntry:
    return CatalogEntry(**{name: row[name] for name in ENTRY_FIELDS})


def held_from_row(row) -> HeldEvent:
    return HeldEvent(row["department"], row["resource_code"], row["source"], row["event_id"], row["type"],
                     row["event_time"], row["held_at"], row["unmatched_at"], row["reason"], row["event"], row["origin"])


class SqlRepository(SqlRescheduleStore, AbstractRepository):
    """Obligation rows through SQLAlchemy Core, on one connection inside one transaction.

    History rows and outbox rows of the batch are written with one
    ``executemany`` each at ``flush()`` (the unit of work flushes before it
    commits); nothing in the service reads them back within the transaction.
    Dead letters are written at once so a replayed rejection is counted as the
    no-op it is.
    """

    def __init__(self, conn: Connection, topic_of: Callable[[str], str]):
        self.conn = conn
        self.topic_of = topic_of  # event type -> logical topic (the relay's business, injected)
        self._history: list[dict] = []
        self._outbox: list[dict] = []
        self._outbox_ids: set[str] = set()
        self._pending_possible: bool | None = None
        self._obligation_rows: list[dict] = []
        self._new_obligation_ids: set[str] = set()
        self._catalog_history: list[dict] = []
        self._entry_rows: list[dict] = []
        self._new_entry_keys: set[tuple[str, str]] = set()
        self._held_possible: dict[str, bool] = {}
        # What each obligation read or written in this unit counts as (models.sql.counts), to move its count
        # when it is saved: the version check makes the stored row the one read here.
        self._counted: dict[str, tuple] = {}
        self._counts = CountChanges()

    def _remember(self, row) -> None:
        self._counted[row["id"]] = (obligation_key(row["department"], row["start_day"], row["kind"], row["status"],
                                                   row["on_time"]), row["working_days_taken"])

    def flush(self) -> None:
        self._flush_obligations()
        self._flush_entries()
        if self._history:
            insert_rows(self.conn, t.obligation_history, self._history)
            self._history = []
        if self._catalog_history:
            self.conn.execute(_INSERT_CATALOG_HISTORY, self._catalog_history)
            self._catalog_history = []
        if self._outbox:
            insert_many_ignoring_duplicates(self.conn, t.outbox, self._outbox)
            self._outbox = []
        self._counts.apply(self.conn)  # last: see models.sql.counts on locking

    def _obligations(self, statement, **params) -> list[Obligation]:
        self._flush_obligations()
        result = []
        for row in self.conn.execute(statement, params).mappings():
            self._remember(row)
            result.append(obligation_from_row(row))
        return result

    def mark_processed(self, source, event_id, event_type, at):
        return insert_ignoring_duplicates(self.conn, t.processed_events,
                                          {"source": source, "event_id": event_id, "type": event_type,
                                           "processed_at": at})

    def mark_processed_many(self, events, at):
        """One INSERT ... ON CONFLICT DO NOTHING RETURNING for the whole batch.

        A concurrent transaction inserting the same key makes this one wait
        for it and then see the key as taken, so two workers never both
        process an event.
        """
        rows = list({(source, event_id): {"source": source, "event_id": event_id, "type": event_type,
                                          "processed_at": at} for source, event_id, event_type in events}.values())
        new: set[tuple[str, str]] = set()
        for chunk_start in range(0, len(rows), 500):
            new |= insert_returning_new_keys(self.conn, t.processed_events, rows[chunk_start:chunk_start + 500])
        return new

    def lock_departments(self, departments):
        """PostgreSQL: an advisory lock per department until the transaction ends (``lock_for_transaction``)."""
        lock_for_transaction(self.conn, "department", departments)

    def forget_processed(self, source, event_id):
        self.conn.execute(_FORGET_PROCESSED, {"source": source, "event_id": event_id})

    def add_obligation(self, obligation):
        """Buffered: the batch's new obligations go in with one executemany before the next read.

        New obligation ids derive from events just recorded as new in
        processed_events, so they cannot exist yet; the insert still ignores
        an existing id rather than fail.
        """
        if obligation.id in self._new_obligation_ids:
            return False
        self._new_obligation_ids.add(obligation.id)
        self._obligation_rows.append(obligation_to_row(obligation))
        return True

    def _flush_obligations(self) -> None:
        """Insert the buffered obligations; each one inserted counts once (``models.sql.counts``)."""
        if self._obligation_rows:
            rows, self._obligation_rows = self._obligation_rows, []
            inserted: set[tuple] = set()
            for start in range(0, len(rows), 500):
                inserted |= insert_returning_new_keys(self.conn, t.obligations, rows[start:start + 500])
            for row in rows:
                if (row["id"],) in inserted:
                    self._remember(row)
                    key, taken = self._counted[row["id"]]
                    self._counts.obligation(key, taken, +1)

    def save_obligation(self, obligation):
        row = obligation_to_row(obligation)
        del row["id"]
        row.update(version=obligation.version + 1, b_id=obligation.id, b_version=obligation.version)
        self._flush_obligations()
        before = self._counted.get(obligation.id)
        if before is None:  # not read through this unit: what the stored row counts as now
            stored = self.conn.execute(_COUNTED_BEFORE, {"id": obligation.id}).mappings().first()
            if stored is not None:
                before = (obligation_key(stored["department"], stored["start_day"], stored["kind"],
                                         stored["status"], stored["on_time"]), stored["working_days_taken"])
        result = self.conn.execute(_UPDATE_OBLIGATION, row)
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"obligation {obligation.id} changed since it was read")
        obligation.version += 1
        after = (obligation_key(obligation.department, obligation.start_day, obligation.kind, obligation.status,
                                obligation.on_time), obligation.working_days_taken)
        if after != before:
            if before is not None:
                self._counts.obligation(before[0], before[1], -1)
            self._counts.obligation(after[0], after[1], +1)
        self._counted[obligation.id] = after

    def obligations_for_trigger(self, trigger_event_id, department, kind):
        return self._obligations(_BY_TRIGGER, trigger=trigger_event_id, department=department, kind=kind)

    def unfinished_obligations(self, department, kind, started_by):
        return self._obligations(_UNFINISHED, department=department, kind=kind, started_by=started_by)

    def obligations_for_subject(self, kind, department, subject_ref):
        return self._obligations(_BY_SUBJECT, kind=kind, department=department, subject=subject_ref)

    def add_pending_resolution(self, pending):
        self._pending_possible = True
        return insert_ignoring_duplicates(self.conn, t.pending_resolutions, {
            "department": pending.department, "trigger_event_id": pending.trigger_key,
            "update_event_id": pending.update_event_id, "update_source": pending.update_source,
            "submitted_at": pending.submitted_at, "catalog_version": pending.catalog_version})

    def take_pending_resolutions(self, department, trigger_key):
        if self._pending_possible is None:  # one cheap look per transaction: usually nothing waits
            self._pending_possible = self.conn.execute(_ANY_PENDING).first() is not None
        if not self._pending_possible:
            return []
        params = {"department": department, "trigger": trigger_key}
        rows = self.conn.execute(_SELECT_PENDING, params).mappings().all()
        if rows:
            self.conn.execute(_DELETE_PENDING, params)
        return [PendingResolution(r["department"], r["trigger_event_id"], r["update_event_id"], r["update_source"],
                                  r["submitted_at"], r["catalog_version"]) for r in rows]

    def add_history(self, obligation_id, at, what, event_id, detail):
        self._history.append({"obligation_id": obligation_id, "at": at, "what": what, "event_id": event_id,
                              "detail": detail})

    def add_reminder(self, reminder):
        return insert_ignoring_duplicates(self.conn, t.reminders, {
            "id": reminder.id, "obligation_id": reminder.obligation_id, "department": reminder.department,
            "stage": reminder.stage, "working_days_left": reminder.working_days_left,
            "due_date": reminder.due_date, "sent_at": reminder.sent_at})

    def add_violation(self, violation):
        inserted = insert_ignoring_duplicates(self.conn, t.violations, {
            "id": violation.id, "rule": violation.rule, "article": violation.article,
            "articles": list(violation.articles), "department": violation.department,
            "obligation_id": violation.obligation_id, "trigger_event_id": violation.trigger_event_id,
            "due_date": violation.due_date, "detected_at": violation.detected_at, "event_day": violation.event_day,
            "policy_id": violation.policy_id, "explanation": violation.explanation, "detail": violation.detail,
            "obligation": violation.obligation_kind, "resource_code": violation.resource_code,
            "period": violation.period})
        if inserted:
            self._counts.violation(violation.department, violation.event_day, violation.rule, violation.articles)
        return inserted

    def add_outbox(self, message, now):
        if message.event_id in self._outbox_ids:
            return False
        value, headers = ce.encode_structured(message.cloudevent)
        row = {"event_id": message.event_id, "topic": self.topic_of(message.type), "key": message.key,
               "value": value, "headers": headers_to_json(headers), "created_at": now, "sent": False}
        if message.type == EVENT_REJECTED:
            return insert_ignoring_duplicates(self.conn, t.outbox, row)
        self._outbox_ids.add(message.event_id)
        self._outbox.append(row)
        return True

    def add_unassessed(self, record):
        return insert_ignoring_duplicates(self.conn, t.unassessed_events, {
            "source": record.source, "event_id": record.event_id, "type": record.type,
            "start_day": record.start_day, "departments": list(record.departments), "reason": record.reason,
            "recorded_at": record.recorded_at, "event": record.event})

    def due_for_overdue(self, now, limit):
        return self._obligations(_DUE_OVERDUE, now=now, limit=limit)

    def due_for_reminder(self, now, limit):
        return self._obligations(_DUE_REMINDER, now=now, limit=limit)

    def open_obligations(self):
        return self._obligations(_OPEN)

    # ------------------------------------------------------------ the catalog register

    def _flush_entries(self) -> None:
        if self._entry_rows:
            insert_many_ignoring_duplicates(self.conn, t.catalog_resources, self._entry_rows)
            self._entry_rows = []

    def catalog_entries(self, department, codes=None):
        self._flush_entries()
        if codes is None:
            rows = self.conn.execute(_SELECT_ENTRIES, {"department": department}).mappings()
        else:
            wanted = list(dict.fromkeys(codes))
            if not wanted:
                return {}
            rows = [row for start in range(0, len(wanted), 500)
                    for row in self.conn.execute(_SELECT_SOME_ENTRIES, {"department": department,
                                                                        "codes": wanted[start:start + 500]})
                    .mappings()]
        return {entry.code: entry for entry in sorted(map(entry_from_row, rows), key=lambda e: e.code)}

    def add_catalog_entry(self, entry):
        """Buffered like obligations: a snapshot's new entries go in with one executemany before the next read.

        The service adds only codes the register did not hold when it read them in this unit; the insert still
        ignores an existing key rather than fail.
        """
        key = (entry.department, entry.code)
        if key in self._new_entry_keys:
            return False
        self._new_entry_keys.add(key)
        self._entry_rows.append(entry_to_row(entry))
        return True

    def save_catalog_entry(self, entry):
        self._flush_entries()
        row = entry_to_row(entry)
        del row["department"], row["code"]
        row.update(version=entry.version + 1, b_department=entry.department, b_code=entry.code,
                   b_version=entry.version)
        if self.conn.execute(_UPDATE_ENTRY, row).rowcount != 1:
            raise ConcurrentUpdate(f"catalog entry {entry.department}/{entry.code} changed since it was read")
        entry.version += 1

    def add_catalog_history(self, record):
        self._catalog_history.append({
            "department": record.department, "resource_code": record.resource_code, "at": record.at,
            "recorded_at": record.recorded_at, "event_id": record.event_id, "event_source": record.event_source,
            "action": record.action, "catalog_version": record.catalog_version, "revision": record.revision,
            "detail": record.detail})

    def due_catalog_periods(self, now, limit):
        self._flush_entries()
        return [entry_from_row(row) for row in self.conn.execute(_DUE_PERIODS, {"now": now, "limit": limit})
                .mappings()]

    def obligations_for_resource(self, department, resource_code, kind):
        return self._obligations(_BY_RESOURCE, department=department, resource_code=resource_code, kind=kind)

    def add_held_event(self, held):
        self._held_possible[held.department] = True
        return insert_ignoring_duplicates(self.conn, t.held_events, {
            "source": held.source, "event_id": held.event_id, "department": held.department,
            "resource_code": held.resource_code, "type": held.type, "event_time": held.event_time,
            "held_at": held.held_at, "unmatched_at": held.unmatched_at, "reason": held.reason, "event": held.event,
            "origin": held.origin})

    def take_held_events(self, department, resource_code):
        if department not in self._held_possible:  # one cheap look per department and unit: usually none waits
            self._held_possible[department] = self.conn.execute(_ANY_HELD, {"department": department}).first() \
                is not None
        if not self._held_possible[department]:
            return []
        params = {"department": department, "code": resource_code}
        rows = self.conn.execute(_SELECT_HELD, params).mappings().all()
        if rows:
            self.conn.execute(_DELETE_HELD, params)
        return [held_from_row(row) for row in rows]


class SqlUnitOfWork(AbstractUnitOfWork):
    """One SQL transaction; ``commit()`` makes it durable, leaving the block without it rolls back."""

    def __init__(self, engine: Engine, topic_of: Callable[[str], str]):
        self.engine = engine
        self.topic_of = topic_of

    def __enter__(self) -> "SqlUnitOfWork":
        self._conn = write_connection(self.engine)
        self._tx = self._conn.begin()
        self.repo = SqlRepository(self._conn, self.topic_of)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self._conn.close()

    def commit(self) -> None:
        self.repo.flush()
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()


def sql_unit_of_work_factory(engine: Engine, topic_of: Callable[[str], str]):
    """Units of work on ``engine``; ``topic_of`` names the topic of each outgoing event type."""
    return lambda: SqlUnitOfWork(engine, topic_of)

