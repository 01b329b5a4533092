"""Every port the domain talks through, in one place; the implementations live elsewhere.

- ``Origin``: where an input came from (``streams.ingest.KafkaOrigin``), opaque to the domain.
- ``Calendar``: the working-day calendar (``calendars.LiveCalendar``; a weekend-only fake in unit tests).
- ``Clock``: what time it is (``models.clock``).
- ``AbstractRepository`` / ``AbstractUnitOfWork``: the tracker's state inside one transaction
  (``models.sql.repository``; ``tests.fakes`` in memory). Both run the same contract tests.
- ``OutboxPort`` / ``LeasePort``: what the relay and the leader's duties need from the outbox
  (``models.sql.outbox``).

Protocols and abstract classes only: no database, no broker, no framework.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Protocol

if TYPE_CHECKING:  # type names only: ports import no implementation at run time
    from models.catalog import CatalogEntry
    from models.messages import OutgoingMessage
    from models.obligations import Obligation
    from models.reminders import Reminder
    from models.violations import Violation


# ------------------------------------------------------------------ calendar and clock

class DeadlineLike(Protocol):
    due_date: date
    end: datetime
    provisional_years: tuple[int, ...]
    provisional: bool


class ExplanationLike(Protocol):
    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-able data."""

    def text_zh(self) -> str:
        """The explanation as a supervisor reads it."""


class Calendar(Protocol):
    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (weekends, holidays and make-up days applied)."""

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after ``d`` (before it when n < 0); ``d`` itself never counts."""

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b < a."""

    def deadline(self, start_day: date, n: int) -> DeadlineLike:
        """The end of the n-th working day after ``start_day`` (民法典 第二百零一条)."""

    def working_days_left(self, now: datetime, due_date: date) -> int:
        """Working days in (local date of now, due_date]: 0 on the due day, negative once past."""

    def explain(self, start_day: date, n: int) -> ExplanationLike:
        """Which days a deadline counted and skipped, and why."""

    def day_flags(self) -> tuple[date, bytes, bytes]:
        """(first day, a working flag per day, a provisional flag per day) over the calendar's range.

        Equal flags give every deadline the same due date and provisional flag: the tracker keeps them as
        the calendar its obligations were last scheduled against (``models.rescheduling``).
        """


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


# ------------------------------------------------------------------ where an input came from

class Origin(Protocol):
    """Where an input came from, as the adapter that read it knows it; the domain passes it on uninterpreted."""

    key: bytes | None  # the message key, kept on the input's dead letter when it names no department

    def reference(self) -> tuple[str, ...]:
        """Parts naming the input uniquely (for Kafka: topic, partition, offset); a dead letter's id."""

    def record(self) -> dict[str, Any]:
        """JSON-able fields a dead letter carries so a person can find and replay the input (EVENTS.md)."""


# ------------------------------------------------------------------ records the repository keeps

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
    """An event outside every policy in force: flagged and listed, never judged."""

    source: str
    event_id: str
    type: str
    start_day: date
    departments: tuple[str, ...]
    reason: str
    recorded_at: datetime
    event: dict[str, Any]


@dataclass(frozen=True)
class CatalogHistory:
    """One change the register applied to a resource: which event, when, what changed."""

    department: str
    resource_code: str
    at: datetime  # the update's submitted_at
    recorded_at: datetime
    event_id: str
    event_source: str
    action: str  # added, modified, removed
    catalog_version: str
    revision: int  # the entry's revision after the change
    detail: dict[str, Any]  # changes (attribute -> before/after), disagreements, approval_ref


@dataclass(frozen=True)
class HeldEvent:
    """A data activity whose resource is not (yet) in the department's register: judged when it appears."""

    department: str
    resource_code: str
    source: str
    event_id: str
    type: str
    event_time: datetime  # aggregated_at / opened_at / shared_at
    held_at: datetime
    unmatched_at: datetime  # from then on it is listed as unmatched (the policy's wait)
    reason: str
    event: dict[str, Any]  # the CloudEvent, to be read again when released
    origin: dict[str, Any]  # where it was read (models.messages.stored_origin), for a dead letter on release


@dataclass
class RescheduleJob:
    """Moving the open deadlines to a new calendar, page by page (``models.rescheduling``).

    ``calendar_*`` is the calendar the job brings the obligations to (after the job, the one they were
    scheduled against); ``changed`` the runs of days (first, last) whose flags differ from what the
    obligations were scheduled against, None when that is unknown (every open obligation is examined).
    ``cursor`` is the last obligation id a committed page examined; ``version`` guards concurrent runners.
    """

    id: int | None
    state: str  # running, done, superseded
    calendar_first_day: date
    calendar_working: bytes
    calendar_unsettled: bytes
    fingerprint: str
    changed: tuple[tuple[date, date], ...] | None
    started_at: datetime
    updated_at: datetime
    candidates: int = 0
    examined: int = 0
    moved: int = 0
    pages: int = 0
    cursor: str | None = None
    finished_at: datetime | None = None
    version: int = 0


# ------------------------------------------------------------------ repository and unit of work

class AbstractRepository(abc.ABC):
    """The tracker's state as the service sees it, inside one unit of work.

    Inserts that may race report whether they inserted (a duplicate is a no-op);
    ``save_obligation`` raises ``ConcurrentUpdate`` when the stored version moved on.
    """

    @abc.abstractmethod
    def mark_processed(self, source: str, event_id: str, event_type: str, at: datetime) -> bool:
        """Record an input event; False when it was processed before (a duplicate)."""

    def mark_processed_many(self, events: list[tuple[str, str, str]], at: datetime) -> set[tuple[str, str]]:
        """Record (source, id, type) of a batch; the (source, id) keys that were new (not duplicates)."""
        return {(source, event_id) for source, event_id, event_type in events
                if self.mark_processed(source, event_id, event_type, at)}

    def lock_departments(self, departments: Iterable[str]) -> None:
        """Hold these departments until the unit of work ends; wait while another one holds any of them.

        Two transactions that judge one department (a trigger and its catalog update
        read by two workers) then run one after the other, each seeing the other's
        rows. Stores whose writing transactions already run one at a time (SQLite)
        need nothing: this default does nothing.
        """

    @abc.abstractmethod
    def forget_processed(self, source: str, event_id: str) -> None:
        """Undo ``mark_processed`` for an event that was rejected, so a corrected re-publication counts."""

    @abc.abstractmethod
    def add_obligation(self, obligation: "Obligation") -> bool:
        """Store a new obligation; False when this unit of work stored one with its id already.

        An id stored by an earlier unit is never stored twice (the insert ignores it), but the SQL side
        buffers inserts and may still answer True then: ids come from processed events, so that is a replay.
        """

    @abc.abstractmethod
    def save_obligation(self, obligation: "Obligation") -> None:
        """Write changes; raises ConcurrentUpdate when the stored version moved on."""

    @abc.abstractmethod
    def obligations_for_trigger(self, trigger_event_id: str, department: str, kind: str) -> list["Obligation"]:
        """The department's obligations of ``kind`` opened by one triggering event, by id."""

    @abc.abstractmethod
    def unfinished_obligations(self, department: str, kind: str, started_by: date) -> list["Obligation"]:
        """Open or overdue obligations of ``kind`` whose start day is on or before ``started_by``, by id."""

    @abc.abstractmethod
    def obligations_for_subject(self, kind: str, department: str, subject_ref: str) -> list["Obligation"]:
        """Obligations of ``kind`` about one subject (e.g. an objection id), by id."""

    @abc.abstractmethod
    def add_pending_resolution(self, pending: PendingResolution) -> bool:
        """Keep a completion whose trigger has not arrived; False when it is kept already."""

    @abc.abstractmethod
    def take_pending_resolutions(self, department: str, trigger_key: str) -> list[PendingResolution]:
        """Remove and return the waiting completions for a trigger, earliest submission first."""

    @abc.abstractmethod
    def add_history(self, obligation_id: str, at: datetime, what: str, event_id: str | None,
                    detail: dict) -> None:
        """Append one entry to an obligation's history (opened, reminded, completed, ...)."""

    @abc.abstractmethod
    def add_reminder(self, reminder: "Reminder") -> bool:
        """Record a reminder stage as sent; False when that stage was recorded before."""

    @abc.abstractmethod
    def add_violation(self, violation: "Violation") -> bool:
        """Record a violation; False when one with its id exists."""

    @abc.abstractmethod
    def add_outbox(self, message: "OutgoingMessage", now: datetime) -> bool:
        """Queue an outgoing event for the relay; False when its CloudEvents id is queued in this unit already.

        A dead letter answers for earlier units too (it is written at once); any other id queued by an earlier
        unit is never queued twice, but the buffered SQL insert may answer True (a replay).
        """

    @abc.abstractmethod
    def add_unassessed(self, record: Unassessed) -> bool:
        """List an event no policy judges; False when it is listed already."""

    @abc.abstractmethod
    def due_for_overdue(self, now: datetime, limit: int) -> list["Obligation"]:
        """Open obligations whose deadline ended at or before ``now``, earliest first."""

    @abc.abstractmethod
    def due_for_reminder(self, now: datetime, limit: int) -> list["Obligation"]:
        """Open obligations whose next reminder time has come and whose deadline has not ended."""

    @abc.abstractmethod
    def open_obligations(self) -> list["Obligation"]:
        """Every open obligation, by id."""

    # ------------------------------------------------------------ rescheduling (models.rescheduling)

    @abc.abstractmethod
    def latest_reschedule_job(self) -> RescheduleJob | None:
        """The newest reschedule job (running or finished), None before the first."""

    @abc.abstractmethod
    def add_reschedule_job(self, job: RescheduleJob) -> None:
        """Store a new job; sets ``job.id`` (ids grow: the newest job has the highest)."""

    @abc.abstractmethod
    def save_reschedule_job(self, job: RescheduleJob) -> None:
        """Write a job's progress; raises ConcurrentUpdate when the stored version moved on."""

    @abc.abstractmethod
    def queue_reschedule_candidates(self, job_id: int, changed: tuple[tuple[date, date], ...] | None) -> int:
        """Queue for the job every open obligation whose (start_day, due_date] contains a day of ``changed``.

        ``changed``: runs (first, last) of days, ascending and disjoint; None queues every open obligation.
        The rule is ``models.rescheduling.interval_touches``; the SQL side answers it with one indexed range
        per run, in the database (no row comes to Python). Returns how many were queued.
        """

    @abc.abstractmethod
    def reschedule_candidates(self, job_id: int, after_id: str | None,
                              limit: int) -> tuple[list["Obligation"], str | None]:
        """The next keyset page of the job's queue: up to ``limit`` queued ids above ``after_id``, by id.

        Returns (the obligations among them still open, by id; the last queued id looked at, the next
        ``after_id``), or ([], None) when no queued id is above ``after_id``. PostgreSQL locks the page's rows
        until the unit of work ends: a concurrent writer waits for the page.
        """

    @abc.abstractmethod
    def save_rescheduled(self, obligations: list["Obligation"]) -> None:
        """Write the new deadlines (due date and end, provisional flag, next reminder) of a page, in one statement.

        Raises ConcurrentUpdate when one of them changed since it was read.
        """

    @abc.abstractmethod
    def drop_reschedule_candidates(self, job_id: int) -> None:
        """Forget the job's queue (it finished or a newer job replaced it)."""

    # ------------------------------------------------------------ the catalog register

    @abc.abstractmethod
    def catalog_entries(self, department: str, codes: Iterable[str] | None = None) -> dict[str, "CatalogEntry"]:
        """The department's register entries (removed ones too) by code; ``codes`` None: every one."""

    @abc.abstractmethod
    def add_catalog_entry(self, entry: "CatalogEntry") -> bool:
        """Store a new register entry; False when the department has one with its code."""

    @abc.abstractmethod
    def save_catalog_entry(self, entry: "CatalogEntry") -> None:
        """Write an entry's changes; raises ConcurrentUpdate when the stored version moved on."""

    @abc.abstractmethod
    def add_catalog_history(self, record: CatalogHistory) -> None:
        """Append one change of a resource to the register's history."""

    @abc.abstractmethod
    def due_catalog_periods(self, now: datetime, limit: int) -> list["CatalogEntry"]:
        """Active entries whose next period has begun at ``now``, earliest first (the scheduler opens it)."""

    @abc.abstractmethod
    def obligations_for_resource(self, department: str, resource_code: str, kind: str) -> list["Obligation"]:
        """The department's obligations of ``kind`` about one catalog resource, by id."""

    @abc.abstractmethod
    def add_held_event(self, held: HeldEvent) -> bool:
        """Hold an activity whose resource is not in the register; False when it is held already."""

    @abc.abstractmethod
    def take_held_events(self, department: str, resource_code: str) -> list[HeldEvent]:
        """Remove and return the events held for a resource, earliest activity first."""


class AbstractUnitOfWork(abc.ABC):
    """One transaction: ``commit()`` makes it durable; leaving the block without it rolls back."""

    repo: AbstractRepository

    def __enter__(self) -> "AbstractUnitOfWork":
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Make every change of the unit durable at once."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Drop every change of the unit."""


# ------------------------------------------------------------------ outbox and lease

class OutboxPort(Protocol):
    """What the relay needs from the outbox."""

    def pending(self, limit: int = 500) -> list:
        """Unsent messages, oldest first."""

    def mark_sent(self, sent: Iterable[tuple[int, int, int]]) -> int:
        """Record (outbox id, partition, offset) of each message the broker acknowledged."""

    def last_sent_offset(self, topic: str, partition: int) -> int | None:
        """The highest offset recorded for a partition, or None."""

    def mark_sent_by_event_ids(self, topic: str, partition: int, found: dict[str, int]) -> int:
        """Mark as sent the messages found on the broker after a crash (event id -> offset)."""

    def last_sent(self, topic: str, partition: int) -> tuple[int, str] | None:
        """(offset, event id) of the row recorded last in a partition, or None."""

    def reconcile_partition(self, topic: str, partition: int, found: dict[str, int]) -> int:
        """After a broker reset: rows recorded in the partition but not in ``found`` become unsent; their count."""


class LeasePort(Protocol):
    """A named lease in shared storage: one holder at a time (the leader's duties)."""

    def try_acquire_lease(self, name: str, holder: str, ttl_seconds: float, now_utc: datetime) -> bool:
        """Take or renew the lease; True when ``holder`` holds it until now + ttl."""

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up (on shutdown), if ``holder`` holds it."""


# ------------------------------------------------------------------ the delivery log (issue 14)

class DeliveryLogPort(Protocol):
    """What the notifier needs from the delivery log (``models.sql.deliveries``).

    One row per (notification, channel, recipient). A row is written when the
    notification is read (``record``), claimed before its send (attempts + 1, a
    claim that expires) and marked after it; a claim left by a crashed sender
    expires and the row is claimed again, so nothing is lost and only a crash
    between a successful send and ``mark_sent`` can repeat a send.
    """

    def record(self, planned: Iterable[Any], now_utc: datetime) -> int:
        """Write the planned deliveries and skips (``models.delivery.Planned``); existing keys are left alone."""

    def claim_due(self, holder: str, now_utc: datetime, *, limit: int, claim_seconds: float,
                  robot_per_minute: int) -> list[Any]:
        """Claim rows whose time has come (and rows whose claim expired), robots within their rate;
        the rows of one digest come together. Returns ``models.delivery.DeliveryRow`` objects."""

    def obligation_status(self, obligation_id: str) -> str | None:
        """The obligation's status now (open, completed, overdue, cancelled), None when unknown."""

    def mark_sent(self, row_ids: Iterable[int], holder: str, now_utc: datetime) -> int:
        """The send succeeded."""

    def mark_retry(self, row_ids: Iterable[int], holder: str, reason: str, not_before: datetime,
                   now_utc: datetime) -> int:
        """The send failed for now: pending again from ``not_before``."""

    def mark_skipped(self, row_ids: Iterable[int], holder: str, reason: str, now_utc: datetime) -> int:
        """Not sent, on purpose (the obligation was completed meanwhile): the reason is kept."""

    def mark_failed(self, rows: Iterable[Any], holder: str, reason: str, now_utc: datetime,
                    undeliverable: Iterable[dict[str, Any]]) -> int:
        """Given up: the reason is kept and each undeliverable CloudEvent goes to the outbox, in one transaction."""


class ChannelPort(Protocol):
    """One way of reaching people (``delivery.smtp``, ``delivery.dingtalk``, ``delivery.wecom``, ``delivery.webhook``)."""

    name: str

    async def send(self, recipient: str, address: str | None, message: Any) -> Any:
        """Send one ``models.delivery.Message`` to a recipient (a robot's name, an email address);
        returns a ``models.delivery.Outcome`` (delivered, transient failure, permanent failure)."""


class MetricsPort(Protocol):
    """What the running parts count (``streams.instruments.PrometheusInstruments``; ``NO_METRICS`` counts nothing).

    Called by the adapters (ingest, relay, the lease holder's tick, the delivery runner), never by the domain.
    """

    def consumed(self, topic: str, outcome: str, count: int = 1) -> None:
        """Input messages of ``topic`` settled with ``outcome`` (accepted, duplicate, dead-lettered, unassessed)."""

    def batch_applied(self, seconds: float) -> None:
        """One input batch applied (all its messages recorded) in ``seconds``."""

    def relay_sent(self, topic: str, count: int) -> None:
        """Outbox rows acknowledged by the broker on ``topic`` (a logical output topic name)."""

    def relay_failed(self) -> None:
        """A send whose outcome is unknown (the relay reads the broker before sending again)."""

    def tick_done(self, seconds: float, found: dict[str, int]) -> None:
        """One tick of the lease holder: how long it took and what it found (reminders, violations, …)."""

    def delivered(self, channel: str, outcome: str, count: int = 1) -> None:
        """Deliveries to people settled by ``channel`` with ``outcome`` (sent, retried, failed, skipped)."""


class NoMetrics:
    """The ``MetricsPort`` that counts nothing (unit tests, tools that run no server)."""

    def consumed(self, topic: str, outcome: str, count: int = 1) -> None:
        pass

    def batch_applied(self, seconds: float) -> None:
        pass

    def relay_sent(self, topic: str, count: int) -> None:
        pass

    def relay_failed(self) -> None:
        pass

    def tick_done(self, seconds: float, found: dict[str, int]) -> None:
        pass

    def delivered(self, channel: str, outcome: str, count: int = 1) -> None:
        pass


NO_METRICS = NoMetrics()
