"""The tests' fakes of the ports (``models.ports``), in one place.

- ``WeekendCalendar``: a weekends-only calendar with the contract of ``calendars.WorkingDayCalendar``;
- ``FakeStore`` / ``FakeUnitOfWork`` / ``FakeRepository``: the tracker's state in memory, with the contract of
  ``models.sql.repository`` (rollback, insert-ignore, optimistic versions); the same scenarios run on it and
  on SQL in ``tests/integration/test_repository_contract.py``;
- ``FakeLease``: the relay lease, granted or not;
- builders of valid input events and a ``Harness`` (a Tracker on fakes with a manual clock).

So the service can be tested in milliseconds.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from calendars.results import Deadline
from models.clock import SHANGHAI
from models.departments import load_registry
from models.obligations import OPEN, UNFINISHED, ConcurrentUpdate, Obligation
from models.policy import load_policies
from models.ports import AbstractRepository, AbstractUnitOfWork, PendingResolution
from models import validation
from models import cloudevents as ce

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def shanghai(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class FakeExplanation:
    deadline: Deadline
    counted: tuple[date, ...]

    def to_dict(self) -> dict:
        return {"start_day": self.deadline.start_day.isoformat(), "due_date": self.deadline.due_date.isoformat(),
                "counted": [d.isoformat() for d in self.counted]}

    def text_zh(self) -> str:
        return f"计入 {len(self.counted)} 个工作日：{self.counted[0]} 至 {self.counted[-1]}（周末不计）。"


@dataclass
class WeekendCalendar:
    """Working days are Monday to Friday, plus ``extra_working_days``, minus ``holidays``."""

    holidays: set[date] = field(default_factory=set)
    extra_working_days: set[date] = field(default_factory=set)
    provisional_from_year: int | None = None
    flags_from: date = date(2024, 1, 1)  # the range day_flags covers
    flags_days: int = 366 * 4

    def is_working_day(self, d: date) -> bool:
        if d in self.extra_working_days:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def add_working_days(self, d: date, n: int) -> date:
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            d += timedelta(days=step)
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_between(self, a: date, b: date) -> int:
        sign = 1 if b >= a else -1
        low, high = (a, b) if b >= a else (b, a)
        count = sum(1 for i in range(1, (high - low).days + 1) if self.is_working_day(low + timedelta(days=i)))
        return sign * count

    def deadline(self, start_day: date, n: int) -> Deadline:
        due = self.add_working_days(start_day, n)
        end = datetime.combine(due + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        years = tuple(sorted({y for y in range(start_day.year, due.year + 1)
                              if self.provisional_from_year is not None and y >= self.provisional_from_year}))
        return Deadline(start_day, n, due, end, years)

    def working_days_left(self, now: datetime, due_date: date) -> int:
        return self.working_days_between(now.astimezone(SHANGHAI).date(), due_date)

    def day_flags(self) -> tuple[date, bytes, bytes]:
        """Working and provisional flags from ``flags_from`` for ``flags_days`` days (as the real calendar's)."""
        days = [self.flags_from + timedelta(days=i) for i in range(self.flags_days)]
        provisional = self.provisional_from_year
        return (self.flags_from, bytes(self.is_working_day(d) for d in days),
                bytes(provisional is not None and d.year >= provisional for d in days))

    def explain(self, start_day: date, n: int) -> FakeExplanation:
        deadline = self.deadline(start_day, n)
        counted, d = [], start_day
        while len(counted) < n:
            d += timedelta(days=1)
            if self.is_working_day(d):
                counted.append(d)
        return FakeExplanation(deadline, tuple(counted))


@dataclass
class FakeState:
    processed: set = field(default_factory=set)
    obligations: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    pending: dict = field(default_factory=dict)
    reminders: dict = field(default_factory=dict)
    violations: dict = field(default_factory=dict)
    outbox: list = field(default_factory=list)
    unassessed: dict = field(default_factory=dict)
    catalog: dict = field(default_factory=dict)  # (department, code) -> CatalogEntry
    catalog_history: list = field(default_factory=list)
    held: dict = field(default_factory=dict)  # (source, event id) -> HeldEvent
    reschedule_jobs: list = field(default_factory=list)  # RescheduleJob, by id
    reschedule_queue: dict = field(default_factory=dict)  # job id -> sorted obligation ids


class FakeRepository(AbstractRepository):
    def __init__(self, state: FakeState, store: "FakeStore | None" = None):
        self.s = state
        self.store = store

    def mark_processed(self, source, event_id, event_type, at):
        if (source, event_id) in self.s.processed:
            return False
        self.s.processed.add((source, event_id))
        return True

    def forget_processed(self, source, event_id):
        self.s.processed.discard((source, event_id))

    def add_obligation(self, obligation):
        if obligation.id in self.s.obligations:
            return False
        self.s.obligations[obligation.id] = copy.deepcopy(obligation)
        return True

    def save_obligation(self, obligation):
        stored = self.s.obligations.get(obligation.id)
        if stored is None:  # as on SQL: no row with that id and version to update
            raise ConcurrentUpdate(f"obligation {obligation.id} changed since it was read")
        if self.store is not None and self.store.conflicts_to_inject > 0:
            self.store.conflicts_to_inject -= 1  # another worker wrote this row since we read it
            stored.version += 1
        if stored.version != obligation.version:
            raise ConcurrentUpdate(obligation.id)
        obligation.version += 1
        self.s.obligations[obligation.id] = copy.deepcopy(obligation)

    def _copies(self, predicate) -> list[Obligation]:
        return [copy.deepcopy(o) for o in sorted(self.s.obligations.values(), key=lambda o: o.id) if predicate(o)]

    def obligations_for_trigger(self, trigger_event_id, department, kind):
        return self._copies(lambda o: (o.trigger_event_id, o.department, o.kind) == (trigger_event_id, department, kind))

    def unfinished_obligations(self, department, kind, started_by):
        return self._copies(lambda o: o.department == department and o.kind == kind and o.status in UNFINISHED
                            and o.start_day <= started_by)

    def obligations_for_subject(self, kind, department, subject_ref):
        return self._copies(lambda o: (o.kind, o.department, o.subject_ref) == (kind, department, subject_ref))

    def add_pending_resolution(self, pending):
        key = (pending.department, pending.trigger_key, pending.update_event_id)
        if key in self.s.pending:
            return False
        self.s.pending[key] = pending
        return True

    def take_pending_resolutions(self, department, trigger_key):
        keys = [k for k in self.s.pending if k[:2] == (department, trigger_key)]
        found: list[PendingResolution] = [self.s.pending.pop(k) for k in keys]
        return sorted(found, key=lambda p: (p.submitted_at, p.update_event_id))

    def add_history(self, obligation_id, at, what, event_id, detail):
        self.s.history.append((obligation_id, at, what, event_id, detail))

    def add_reminder(self, reminder):
        key = (reminder.obligation_id, reminder.stage)
        if reminder.id in self.s.reminders or any(
                (r.obligation_id, r.stage) == key for r in self.s.reminders.values()):
            return False
        self.s.reminders[reminder.id] = reminder
        return True

    def add_violation(self, violation):
        if violation.id in self.s.violations:
            return False
        self.s.violations[violation.id] = violation
        return True

    def add_outbox(self, message, now):
        if any(m.event_id == message.event_id for m in self.s.outbox):
            return False
        self.s.outbox.append(message)
        return True

    def add_unassessed(self, record):
        key = (record.source, record.event_id)
        if key in self.s.unassessed:
            return False
        self.s.unassessed[key] = record
        return True

    def due_for_overdue(self, now, limit):
        found = self._copies(lambda o: o.status == OPEN and o.due_end <= now)
        return sorted(found, key=lambda o: (o.due_end, o.id))[:limit]

    def due_for_reminder(self, now, limit):
        found = self._copies(lambda o: o.status == OPEN and o.next_reminder_at is not None
                             and o.next_reminder_at <= now < o.due_end)
        return sorted(found, key=lambda o: (o.next_reminder_at, o.id))[:limit]

    def open_obligations(self):
        return self._copies(lambda o: o.status == OPEN)

    # ------------------------------------------------------------ rescheduling

    def latest_reschedule_job(self):
        return copy.deepcopy(self.s.reschedule_jobs[-1]) if self.s.reschedule_jobs else None

    def add_reschedule_job(self, job):
        job.id = len(self.s.reschedule_jobs) + 1
        self.s.reschedule_jobs.append(copy.deepcopy(job))

    def save_reschedule_job(self, job):
        stored = self.s.reschedule_jobs[job.id - 1]
        if stored.version != job.version:
            raise ConcurrentUpdate(f"reschedule job {job.id}")
        job.version += 1
        self.s.reschedule_jobs[job.id - 1] = copy.deepcopy(job)

    def queue_reschedule_candidates(self, job_id, changed):
        from models.rescheduling import interval_touches

        ids = sorted(o.id for o in self.s.obligations.values()
                     if o.status == OPEN and interval_touches(o.start_day, o.due_date, changed))
        self.s.reschedule_queue[job_id] = ids
        return len(ids)

    def reschedule_candidates(self, job_id, after_id, limit):
        ids = [i for i in self.s.reschedule_queue.get(job_id, []) if after_id is None or i > after_id][:limit]
        if not ids:
            return [], None
        return [copy.deepcopy(self.s.obligations[i]) for i in ids if self.s.obligations[i].status == OPEN], ids[-1]

    def save_rescheduled(self, obligations):
        for obligation in obligations:
            self.save_obligation(obligation)

    def drop_reschedule_candidates(self, job_id):
        self.s.reschedule_queue.pop(job_id, None)

    # ------------------------------------------------------------ the catalog register

    def catalog_entries(self, department, codes=None):
        wanted = None if codes is None else set(codes)
        return {code: copy.deepcopy(entry) for (dept, code), entry in sorted(self.s.catalog.items())
                if dept == department and (wanted is None or code in wanted)}

    def add_catalog_entry(self, entry):
        key = (entry.department, entry.code)
        if key in self.s.catalog:
            return False
        self.s.catalog[key] = copy.deepcopy(entry)
        return True

    def save_catalog_entry(self, entry):
        stored = self.s.catalog.get((entry.department, entry.code))
        if stored is None or stored.version != entry.version:
            raise ConcurrentUpdate(f"catalog entry {entry.department}/{entry.code} changed since it was read")
        entry.version += 1
        self.s.catalog[(entry.department, entry.code)] = copy.deepcopy(entry)

    def add_catalog_history(self, record):
        self.s.catalog_history.append(record)

    def due_catalog_periods(self, now, limit):
        due = [e for e in self.s.catalog.values()
               if e.active and e.next_period_start is not None and e.next_period_start <= now]
        return [copy.deepcopy(e) for e in sorted(due, key=lambda e: (e.next_period_start, e.department, e.code))
                [:limit]]

    def obligations_for_resource(self, department, resource_code, kind):
        return self._copies(lambda o: (o.department, o.resource_code, o.kind) == (department, resource_code, kind))

    def add_held_event(self, held):
        key = (held.source, held.event_id)
        if key in self.s.held:
            return False
        self.s.held[key] = held
        return True

    def take_held_events(self, department, resource_code):
        keys = [k for k, h in self.s.held.items() if (h.department, h.resource_code) == (department, resource_code)]
        found = [self.s.held.pop(k) for k in keys]
        return sorted(found, key=lambda h: (h.event_time, h.source, h.event_id))


class FakeUnitOfWork(AbstractUnitOfWork):
    """Works on a copy of the shared state; ``commit`` publishes it, anything else discards it."""

    def __init__(self, store: "FakeStore"):
        self.store = store

    def __enter__(self):
        self.working = copy.deepcopy(self.store.state)
        self.repo = FakeRepository(self.working, self.store)
        self.committed = False
        return self

    def __exit__(self, *exc_info):
        pass

    def commit(self):
        self.store.state = self.working
        self.store.commits += 1

    def rollback(self):
        pass


@dataclass
class FakeStore:
    state: FakeState = field(default_factory=FakeState)
    commits: int = 0
    conflicts_to_inject: int = 0  # the next N obligation saves meet a concurrent writer

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeLease:
    """The ``LeasePort``: grants the lease (or not) and records releases."""

    def __init__(self, grant: bool = True):
        self.grant = grant
        self.released: list[tuple[str, str]] = []

    def try_acquire_lease(self, name, holder, ttl_seconds, now_utc):
        return self.grant

    def release_lease(self, name, holder):
        self.released.append((name, holder))


def real_policies():
    return load_policies(CONFIG_DIR / "policies")


def real_registry():
    return load_registry(CONFIG_DIR / "departments.yaml")


# ------------------------------------------------------------------ events and a tracker for tests

def inbound(event_type: str, data: dict, *, id: str, source: str = "/yuhua/test", time: datetime | None = None):
    """A validated InboundEvent built through the real contract (build, encode, parse)."""

    built = validation.build_cloudevent(event_type, source, data, id=id, time=time or shanghai(2026, 1, 1))
    return validation.parse_cloudevent(ce.encode(built))


def regulation_changed(id: str, changed_on: str, departments: list[str], title: str = "长沙市公共数据管理办法"):
    from models import events as ev

    return inbound(ev.REGULATION_CHANGED, {"regulation_id": f"reg-{id}", "title": title, "change_kind": "amended",
                                           "changed_on": changed_on, "affected_departments": departments},
                   id=id, source="/yuhua/legal-affairs")


def duty_changed(id: str, changed_on: str, department: str, counterparts: list[str] | None = None):
    from models import events as ev

    data = {"department": department, "changed_on": changed_on, "change_kind": "transferred",
            "description": "职能划转"}
    if counterparts is not None:
        data["counterpart_departments"] = counterparts
    return inbound(ev.DUTY_CHANGED, data, id=id, source="/yuhua/staffing-office")


def catalog_updated(id: str, department: str, submitted_at: str, resolves: list[str] | None = None,
                    resources: list[dict] | None = None, complete: bool | None = None):
    from models import events as ev

    data = {"department": department, "submitted_at": submitted_at, "catalog_version": f"v-{id}"}
    if resolves is not None:
        data["resolves"] = resolves
    if resources is not None:
        data["resources"] = resources
    if complete is not None:
        data["complete"] = complete
    return inbound(ev.CATALOG_UPDATED, data, id=id, source="/yuhua/catalog-platform")


def data_aggregated(id: str, department: str, resource_code: str, period: str, aggregated_at: str):
    from models import events as ev

    return inbound(ev.DATA_AGGREGATED, {"department": department, "resource_code": resource_code, "period": period,
                                        "aggregated_at": aggregated_at, "records": 120},
                   id=id, source="/yuhua/aggregation")


def data_opened(id: str, department: str, resource_code: str, opened_at: str, channel: str = "municipal-platform"):
    from models import events as ev

    return inbound(ev.DATA_OPENED, {"department": department, "resource_code": resource_code,
                                    "opened_at": opened_at, "channel": channel}, id=id, source="/yuhua/open-platform")


def data_shared(id: str, department: str, resource_code: str, shared_at: str, channel: str = "municipal-platform"):
    from models import events as ev

    return inbound(ev.DATA_SHARED, {"department": department, "resource_code": resource_code,
                                    "shared_at": shared_at, "channel": channel}, id=id, source="/yuhua/exchange")


def objection_raised(id: str, objection_id: str, department: str, raised_on: str, raised_by: str | None = None):
    from models import events as ev

    data = {"objection_id": objection_id, "department": department, "resource_code": "R-001", "raised_on": raised_on}
    if raised_by:
        data["raised_by"] = raised_by
    return inbound(ev.OBJECTION_RAISED, data, id=id, source="/yuhua/data-center")


def objection_resolved(id: str, objection_id: str, department: str, resolved_at: str):
    from models import events as ev

    return inbound(ev.OBJECTION_RESOLVED, {"objection_id": objection_id, "department": department,
                                           "resource_code": "R-001", "resolved_at": resolved_at},
                   id=id, source="/yuhua/data-center")


class Harness:
    """A Tracker on fakes with a manual clock, and helpers to feed it and read what it wrote."""

    def __init__(self, now: datetime, calendar=None, policies=None, uow_factory=None):
        from models.clock import ManualClock
        from models.service import Tracker

        self.clock = ManualClock(now)
        self.store = FakeStore()
        self.tracker = Tracker(uow_factory or self.store, calendar or WeekendCalendar(), policies or real_policies(),
                               real_registry(), self.clock)
        self.offset = 0

    def feed(self, *events, topic: str = "catalog.regulation-changes"):
        items = []
        for event in events:
            items.append(accepted_at(topic, 0, self.offset, event))
            self.offset += 1
        return self.tracker.apply_batch(items)

    @property
    def state(self) -> FakeState:
        return self.store.state

    def obligations(self, **where) -> list[Obligation]:
        return [o for o in self.state.obligations.values() if all(getattr(o, k) == v for k, v in where.items())]

    def outbox(self, event_type: str | None = None) -> list:
        return [m for m in self.state.outbox if event_type is None or m.cloudevent["type"] == event_type]


def accepted_at(topic: str, partition: int, offset: int, event, *, key: bytes | None = None,
                value: bytes | None = None, headers=()):
    """An ``Accepted`` input as the ingest agent builds it, read at ``topic``/``partition``/``offset``."""
    from models.service import Accepted
    from streams.ingest import KafkaOrigin

    return Accepted(event, KafkaOrigin(topic, partition, offset, key, value, tuple(headers)))


def rejected(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, headers,
             reason: str):
    """A ``Rejected`` input (unparseable) as the ingest agent builds it."""
    from models.service import Rejected
    from streams.ingest import KafkaOrigin

    return Rejected(KafkaOrigin(topic, partition, offset, key, value, tuple(headers)), reason)
