"""The repository port, its SQL adapter and the unit of work.

The service only talks to ``AbstractRepository`` inside a unit of work; the
SQL adapter maps obligations to rows with SQLAlchemy Core (``models.tables``),
and a fake in ``tests/unit/model_fakes.py`` keeps the same contract in memory.

Writes that may race (reminders, violations, outbox rows, processed events)
are inserts that ignore an existing key and report whether they inserted;
obligation updates carry a version and raise ``ConcurrentUpdate`` when
someone else changed the row first, so the whole transaction is retried.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import tables as t
from models.messages import OutgoingMessage
from models.obligations import OPEN, UNFINISHED, ConcurrentUpdate, Obligation
from models.outbox import headers_to_json
from models.reminders import Reminder
from models.sql import insert_ignoring_duplicates
from models.violations import Violation


@dataclass(frozen=True)
class PendingResolution:
    """A completion that arrived before its trigger; it completes the obligation when the trigger comes."""

    department: str
    trigger_key: str  # the trigger's event id, or "objection:<objection id>"
    update_event_id: str
    update_source: str
    submitted_at: datetime
    catalog_version: str


@dataclass(frozen=True)
class Unassessed:
    source: str
    event_id: str
    type: str
    start_day: date
    departments: tuple[str, ...]
    reason: str
    recorded_at: datetime
    event: dict[str, Any]


class AbstractRepository(abc.ABC):
    @abc.abstractmethod
    def mark_processed(self, source: str, event_id: str, event_type: str, at: datetime) -> bool:
        """Record an input event; False when it was processed before (a duplicate)."""

    @abc.abstractmethod
    def add_obligation(self, obligation: Obligation) -> bool: ...

    @abc.abstractmethod
    def save_obligation(self, obligation: Obligation) -> None:
        """Write changes; raises ConcurrentUpdate when the stored version moved on."""

    @abc.abstractmethod
    def get_obligation(self, obligation_id: str) -> Obligation | None: ...

    @abc.abstractmethod
    def obligations_for_trigger(self, trigger_event_id: str, department: str, kind: str) -> list[Obligation]: ...

    @abc.abstractmethod
    def unfinished_obligations(self, department: str, kind: str, started_by: date) -> list[Obligation]: ...

    @abc.abstractmethod
    def obligations_for_subject(self, kind: str, department: str, subject_ref: str) -> list[Obligation]: ...

    @abc.abstractmethod
    def add_pending_resolution(self, pending: PendingResolution) -> bool: ...

    @abc.abstractmethod
    def take_pending_resolutions(self, department: str, trigger_key: str) -> list[PendingResolution]:
        """Remove and return the waiting completions for a trigger, earliest submission first."""

    @abc.abstractmethod
    def add_history(self, obligation_id: str, at: datetime, what: str, event_id: str | None,
                    detail: dict) -> None: ...

    @abc.abstractmethod
    def add_reminder(self, reminder: Reminder) -> bool: ...

    @abc.abstractmethod
    def add_violation(self, violation: Violation) -> bool: ...

    @abc.abstractmethod
    def add_outbox(self, message: OutgoingMessage, now: datetime) -> bool: ...

    @abc.abstractmethod
    def add_unassessed(self, record: Unassessed) -> bool: ...

    @abc.abstractmethod
    def due_for_overdue(self, now: datetime, limit: int) -> list[Obligation]: ...

    @abc.abstractmethod
    def due_for_reminder(self, now: datetime, limit: int) -> list[Obligation]: ...

    @abc.abstractmethod
    def open_obligations(self) -> list[Obligation]: ...


class AbstractUnitOfWork(abc.ABC):
    repo: AbstractRepository

    def __enter__(self) -> "AbstractUnitOfWork":
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


# ------------------------------------------------------------------ SQL adapter

_OBLIGATION_FIELDS = [c.name for c in t.obligations.columns]


def obligation_to_row(ob: Obligation) -> dict[str, Any]:
    row = {name: getattr(ob, name) for name in _OBLIGATION_FIELDS}
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


class SqlRepository(AbstractRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def _obligations(self, *conditions, order=None, limit: int | None = None) -> list[Obligation]:
        query = sa.select(t.obligations).where(*conditions)
        query = query.order_by(*(order if order is not None else (t.obligations.c.id,)))
        if limit is not None:
            query = query.limit(limit)
        return [obligation_from_row(row) for row in self.conn.execute(query).mappings()]

    def mark_processed(self, source, event_id, event_type, at):
        return insert_ignoring_duplicates(self.conn, t.processed_events,
                                          {"source": source, "event_id": event_id, "type": event_type,
                                           "processed_at": at})

    def add_obligation(self, obligation):
        return insert_ignoring_duplicates(self.conn, t.obligations, obligation_to_row(obligation))

    def save_obligation(self, obligation):
        row = obligation_to_row(obligation)
        row["version"] = obligation.version + 1
        result = self.conn.execute(sa.update(t.obligations).where(
            t.obligations.c.id == obligation.id, t.obligations.c.version == obligation.version).values(**row))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"obligation {obligation.id} changed since it was read")
        obligation.version += 1

    def get_obligation(self, obligation_id):
        found = self._obligations(t.obligations.c.id == obligation_id)
        return found[0] if found else None

    def obligations_for_trigger(self, trigger_event_id, department, kind):
        c = t.obligations.c
        return self._obligations(c.trigger_event_id == trigger_event_id, c.department == department, c.kind == kind)

    def unfinished_obligations(self, department, kind, started_by):
        c = t.obligations.c
        return self._obligations(c.department == department, c.kind == kind, c.status.in_(UNFINISHED),
                                 c.start_day <= started_by)

    def obligations_for_subject(self, kind, department, subject_ref):
        c = t.obligations.c
        return self._obligations(c.kind == kind, c.department == department, c.subject_ref == subject_ref)

    def add_pending_resolution(self, pending):
        return insert_ignoring_duplicates(self.conn, t.pending_resolutions, {
            "department": pending.department, "trigger_event_id": pending.trigger_key,
            "update_event_id": pending.update_event_id, "update_source": pending.update_source,
            "submitted_at": pending.submitted_at, "catalog_version": pending.catalog_version})

    def take_pending_resolutions(self, department, trigger_key):
        c = t.pending_resolutions.c
        condition = sa.and_(c.department == department, c.trigger_event_id == trigger_key)
        rows = self.conn.execute(sa.select(t.pending_resolutions).where(condition)
                                 .order_by(c.submitted_at, c.update_event_id)).mappings().all()
        if rows:
            self.conn.execute(sa.delete(t.pending_resolutions).where(condition))
        return [PendingResolution(r["department"], r["trigger_event_id"], r["update_event_id"], r["update_source"],
                                  r["submitted_at"], r["catalog_version"]) for r in rows]

    def add_history(self, obligation_id, at, what, event_id, detail):
        self.conn.execute(sa.insert(t.obligation_history).values(
            obligation_id=obligation_id, at=at, what=what, event_id=event_id, detail=detail))

    def add_reminder(self, reminder):
        return insert_ignoring_duplicates(self.conn, t.reminders, {
            "id": reminder.id, "obligation_id": reminder.obligation_id, "department": reminder.department,
            "stage": reminder.stage, "working_days_left": reminder.working_days_left,
            "due_date": reminder.due_date, "sent_at": reminder.sent_at})

    def add_violation(self, violation):
        return insert_ignoring_duplicates(self.conn, t.violations, {
            "id": violation.id, "rule": violation.rule, "article": violation.article,
            "articles": list(violation.articles), "department": violation.department,
            "obligation_id": violation.obligation_id, "trigger_event_id": violation.trigger_event_id,
            "due_date": violation.due_date, "detected_at": violation.detected_at, "event_day": violation.event_day,
            "policy_id": violation.policy_id, "explanation": violation.explanation, "detail": violation.detail})

    def add_outbox(self, message, now):
        return insert_ignoring_duplicates(self.conn, t.outbox, {
            "event_id": message.event_id, "topic": message.topic, "key": message.key, "value": message.value(),
            "headers": headers_to_json(message.headers()), "created_at": now, "sent": False})

    def add_unassessed(self, record):
        return insert_ignoring_duplicates(self.conn, t.unassessed_events, {
            "source": record.source, "event_id": record.event_id, "type": record.type,
            "start_day": record.start_day, "departments": list(record.departments), "reason": record.reason,
            "recorded_at": record.recorded_at, "event": record.event})

    def due_for_overdue(self, now, limit):
        c = t.obligations.c
        return self._obligations(c.status == OPEN, c.due_end <= now, order=(c.due_end, c.id), limit=limit)

    def due_for_reminder(self, now, limit):
        c = t.obligations.c
        return self._obligations(c.status == OPEN, c.next_reminder_at <= now, order=(c.next_reminder_at, c.id),
                                 limit=limit)

    def open_obligations(self):
        return self._obligations(t.obligations.c.status == OPEN)


class SqlUnitOfWork(AbstractUnitOfWork):
    """One SQL transaction; ``commit()`` makes it durable, leaving the block without it rolls back."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> "SqlUnitOfWork":
        self._conn = self.engine.connect()
        self._tx = self._conn.begin()
        self.repo = SqlRepository(self._conn)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self._conn.close()

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()


def sql_unit_of_work_factory(engine: Engine):
    return lambda: SqlUnitOfWork(engine)

