"""The application service: what the stream agents and the scheduler call.

No Kafka and no Faust here. ``Tracker.apply_batch`` takes decoded messages
(``Accepted``) and rejections (``Rejected``) and applies them in ONE
transaction: processed-event records (duplicates skipped), obligation changes,
history, violations found at once and every outgoing event as an outbox row.
``Tracker.tick`` does the time-based work due at an instant (reminders,
overdue obligations) in one transaction. Both retry the whole transaction when
a concurrent writer changed an obligation first.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence, TypeVar

from models import events as ev
from models import messages, wording
from models.departments import DepartmentRegistry
from models.events import InboundEvent
from models.obligations import ConcurrentUpdate, Obligation, complete, mark_overdue, open_obligation
from models.catalog_tracking import CatalogTracking
from models.policy import CATALOG_UPDATE, DATA_VERIFICATION, Policy, PolicySet
from models.ports import AbstractUnitOfWork, Calendar, Clock, Origin, PendingResolution, Unassessed
from models.reminders import send_reminder
from models.rescheduling import Rescheduling
from models.triggers import trigger_of
from models.validation import to_cloudevent_dict
from models.violations import Violation, overdue_violation

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
R = TypeVar("R")


@dataclass(frozen=True)
class Accepted:
    """A message that parsed into a valid event, and where it came from (kept on its dead letter, if any)."""

    event: InboundEvent
    origin: Origin


@dataclass(frozen=True)
class Rejected:
    """A message that could not be parsed, or parsed and could not be applied; it becomes one dead letter.

    ``event`` is set for a message that parsed but could not be applied (its dead letter names the event).
    """

    origin: Origin
    reason: str
    event: InboundEvent | None = None


@dataclass(frozen=True)
class DeadLettered:
    """An input the batch dead-lettered: where it came from, why, and its event id when it parsed."""

    origin: Origin
    reason: str
    event_id: str | None = None


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unassessed: int = 0
    obligations_opened: int = 0
    obligations_completed: int = 0
    violations: int = 0
    outbox_rows: int = 0
    attempts: int = 1
    held: int = 0  # data activities waiting for their resource to enter the register
    dead_letters: list[DeadLettered] = field(default_factory=list)  # for the adapter's log
    duplicate_origins: list[Origin] = field(default_factory=list)  # where the duplicates were read (metrics)


@dataclass
class TickResult:
    reminders: int = 0
    overdue: int = 0
    violations: int = 0
    outbox_rows: int = 0
    obligations_opened: int = 0  # the obligations of the periods that began
    obligations_completed: int = 0  # by aggregations that arrived before their period's obligation
    more_due: bool = False
    attempts: int = 1
    details: list[str] = field(default_factory=list)


class _Rejection(Exception):
    def __init__(self, reason: str, unassessed: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.unassessed = unassessed


class Tracker(CatalogTracking, Rescheduling):
    """Built by ``config.bootstrap.build_tracker``; unit tests build it with fakes.

    The catalog register's handling (catalog updates against the register, data activities, the periods'
    obligations) is ``models.catalog_tracking.CatalogTracking``'s.
    """

    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork], calendar: Calendar, policies: PolicySet,
                 registry: DepartmentRegistry, clock: Clock, *, jurisdiction: str = "yuhua",
                 reminder_time: str = "09:00", tick_limit: int = 5000):
        self.uow_factory = uow_factory
        self.calendar = calendar
        self.policies = policies
        self.registry = registry
        self.clock = clock
        self.jurisdiction = jurisdiction
        self.reminder_time = reminder_time
        self.tick_limit = tick_limit

    # ------------------------------------------------------------ batches

    def apply_batch(self, items: Sequence[Accepted | Rejected]) -> BatchResult:
        """Apply a batch in one transaction; safe to call again with the same batch (replay)."""
        def work(uow: AbstractUnitOfWork, attempt: int) -> BatchResult:
            result = BatchResult(attempts=attempt)
            now = self.clock.now()
            # First, so that a concurrent batch judging the same departments is seen whole or not at all.
            uow.repo.lock_departments(sorted({department for i in items if isinstance(i, Accepted)
                                              for department in i.event.departments()}))
            new_keys = uow.repo.mark_processed_many(
                [(i.event.source, i.event.id, i.event.type) for i in items if isinstance(i, Accepted)], now)
            for item in items:
                if isinstance(item, Rejected):
                    self._dead_letter(uow, item.origin, item.reason, now, result, event=item.event,
                                      department=self._department_of(item.event))
                elif item.event.key in new_keys:
                    new_keys.discard(item.event.key)  # a second copy in the same batch is a duplicate
                    self._apply_accepted(uow, item, now, result)
                else:
                    result.duplicates += 1
                    result.duplicate_origins.append(item.origin)
            return result

        return self._in_transaction("batch", work)

    def _in_transaction(self, what: str, work: Callable[[AbstractUnitOfWork, int], R]) -> R:
        """Run ``work(uow, attempt)`` in one transaction and commit it.

        Obligations carry an optimistic version: when a concurrent writer (another
        worker's batch or tick) changed one first, the whole transaction is rolled
        back and done again from the start, up to ``MAX_ATTEMPTS`` times.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.uow_factory() as uow:
                    result = work(uow, attempt)
                    uow.commit()
                    return result
            except ConcurrentUpdate:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("%s met a concurrent update; retrying (attempt %d)", what, attempt + 1)
        raise AssertionError("unreachable")

    def _apply_accepted(self, uow: AbstractUnitOfWork, item: Accepted, now: datetime, result: BatchResult) -> None:
        event = item.event
        try:
            unknown = self.registry.unknown(event.departments())
            if unknown:
                raise _Rejection(f"unknown department {', '.join(repr(c) for c in unknown)}: "
                                 f"not in the department registry")
            policy = self.policies.policy_for(event.start_day(), self.jurisdiction)
            if policy is None:
                raise _Rejection(
                    f"unassessed: start day {event.start_day().isoformat()} is outside every policy in force for "
                    f"{self.jurisdiction} ({self.policies.validity_summary(self.jurisdiction)})", unassessed=True)
            self._handle(uow, event, policy, now, result, origin=item.origin)
        except _Rejection as rejection:
            # Not processed: the same event published again once the registry or the policies know it counts.
            uow.repo.forget_processed(event.source, event.id)
            if rejection.unassessed:
                uow.repo.add_unassessed(Unassessed(event.source, event.id, event.type, event.start_day(),
                                                   event.departments(), rejection.reason, now,
                                                   to_cloudevent_dict(event)))
                result.unassessed += 1
            self._dead_letter(uow, item.origin, rejection.reason, now, result, event=event,
                              department=self._department_of(event))
            return
        result.accepted += 1

    def _department_of(self, event: InboundEvent | None) -> str | None:
        """The key of an event's dead letter: its one department when the registry knows it."""
        if event is None:
            return None
        departments = event.departments()
        return departments[0] if len(departments) == 1 and departments[0] in self.registry else None

    def _handle(self, uow: AbstractUnitOfWork, event: InboundEvent, policy: Policy, now: datetime,
                result: BatchResult, origin: Origin | None = None) -> None:
        data = event.data
        needed = {ev.REGULATION_CHANGED: CATALOG_UPDATE, ev.DUTY_CHANGED: CATALOG_UPDATE,
                  ev.OBJECTION_RAISED: DATA_VERIFICATION}.get(event.type)
        if needed is not None and needed not in policy.obligations:
            raise _Rejection(f"unassessed: policy {policy.id} defines no {needed} obligation", unassessed=True)
        try:  # a day the calendar cannot count from would fail the whole batch later: refuse the event now
            self.calendar.is_working_day(event.start_day())
            if needed is not None:
                self.calendar.deadline(event.start_day(), policy.obligations[needed].working_days)
        except ValueError as exc:  # calendars.OutOfRange: no calendar data for these days
            raise _Rejection(f"unassessed: the working-day calendar cannot count from "
                             f"{event.start_day().isoformat()}: {exc}", unassessed=True) from None
        if isinstance(data, (ev.RegulationChanged, ev.DutyChanged)):
            for department in data.departments():
                self._open(uow, event, policy, CATALOG_UPDATE, department, now, result)
        elif isinstance(data, ev.ObjectionRaised):
            self._open(uow, event, policy, DATA_VERIFICATION, data.department, now, result)
        elif isinstance(data, ev.CatalogUpdated):
            self._catalog_updated(uow, event, data, policy, now, result)
        elif isinstance(data, ev.ObjectionResolved):
            self._objection_resolved(uow, event, data, now, result)
        elif isinstance(data, (ev.DataAggregated, ev.DataOpened, ev.DataShared)):
            refused = self._data_activity(uow, event, data, policy, now, result, origin)
            if refused is not None:
                raise _Rejection(refused)

    def _open(self, uow: AbstractUnitOfWork, event: InboundEvent, policy: Policy, kind: str, department: str,
              now: datetime, result: BatchResult) -> None:
        kind_policy = policy.obligations[kind]
        trigger = trigger_of(event, self.registry.name_of)
        obligation = open_obligation(trigger=trigger, department=department, policy=policy, kind=kind_policy,
                                     calendar=self.calendar, reminder_time=self.reminder_time, now=now)
        if not uow.repo.add_obligation(obligation):
            return
        result.obligations_opened += 1
        uow.repo.add_history(obligation.id, now, "opened", event.id,
                             {"due_date": obligation.due_date.isoformat(), "policy_id": policy.id,
                              "policy_version": policy.version, "working_days": obligation.working_days})
        self._outbox(uow, messages.obligation_opened(obligation, now), now, result)
        trigger_key = event.id if kind == CATALOG_UPDATE else f"objection:{trigger.subject_ref}"
        waiting = uow.repo.take_pending_resolutions(department, trigger_key)
        if waiting:
            first = waiting[0]
            self._complete(uow, obligation, first.submitted_at, first.update_event_id, now, result,
                           note=wording.NOTE_COMPLETED_BEFORE_TRIGGER)
        elif obligation.is_past_deadline(now):
            self._overdue(uow, obligation, now, result, note=wording.NOTE_OVERDUE_ON_ARRIVAL)

    def _catalog_updated(self, uow: AbstractUnitOfWork, event: InboundEvent, data: ev.CatalogUpdated,
                         policy: Policy, now: datetime, result: BatchResult) -> None:
        if data.resolves is None:
            submitted_day = event.start_day()
            for obligation in uow.repo.unfinished_obligations(data.department, CATALOG_UPDATE, submitted_day):
                self._complete(uow, obligation, data.submitted_at, event.id, now, result)
        else:
            for trigger_id in data.resolves:
                found = uow.repo.obligations_for_trigger(trigger_id, data.department, CATALOG_UPDATE)
                if not found:
                    uow.repo.add_pending_resolution(PendingResolution(
                        data.department, trigger_id, event.id, event.source, data.submitted_at,
                        data.catalog_version))
                for obligation in found:
                    if obligation.unfinished:
                        self._complete(uow, obligation, data.submitted_at, event.id, now, result)
        self._register_update(uow, event, data, policy, now, result)

    def _objection_resolved(self, uow: AbstractUnitOfWork, event: InboundEvent, data: ev.ObjectionResolved,
                            now: datetime, result: BatchResult) -> None:
        found = uow.repo.obligations_for_subject(DATA_VERIFICATION, data.department, data.objection_id)
        if not found:
            uow.repo.add_pending_resolution(PendingResolution(
                data.department, f"objection:{data.objection_id}", event.id, event.source, data.resolved_at, ""))
        for obligation in found:
            if obligation.unfinished:
                self._complete(uow, obligation, data.resolved_at, event.id, now, result)

    def _complete(self, uow: AbstractUnitOfWork, obligation: Obligation, at: datetime, by_event_id: str,
                  now: datetime, result: BatchResult, note: str | None = None) -> None:
        complete(obligation, at=at, by_event_id=by_event_id, calendar=self.calendar)
        uow.repo.save_obligation(obligation)
        result.obligations_completed += 1
        detail = {"on_time": obligation.on_time, "completed_at": at.isoformat(),
                  "working_days_taken": obligation.working_days_taken}
        if note:
            detail["note"] = note
        uow.repo.add_history(obligation.id, now, "completed", by_event_id, detail)
        self._outbox(uow, messages.obligation_completed(obligation, now), now, result)
        if not obligation.on_time:
            # Late even if no tick saw it overdue (replays, batched input): the same violation id as the tick's.
            self._overdue_violation(uow, obligation, now, result)

    def _overdue(self, uow: AbstractUnitOfWork, obligation: Obligation, now: datetime, result,
                 note: str | None = None) -> None:
        mark_overdue(obligation, now)
        uow.repo.save_obligation(obligation)
        detail = {"due_end": obligation.due_end.isoformat()}
        if note:
            detail["note"] = note
        uow.repo.add_history(obligation.id, now, "overdue", None, detail)
        if isinstance(result, TickResult):
            result.overdue += 1
        self._overdue_violation(uow, obligation, now, result)

    def _overdue_violation(self, uow: AbstractUnitOfWork, obligation: Obligation, now: datetime, result) -> None:
        policy = self.policies.by_id(obligation.policy_id)
        if policy is None:
            log.warning("obligation %s was opened under policy %s, which is no longer loaded; "
                        "no violation text can cite it", obligation.id, obligation.policy_id)
            return
        kind_policy = policy.obligations.get(obligation.kind)
        violation = overdue_violation(obligation, policy=policy, department_label=self.registry.label(
            obligation.department), kind_title=kind_policy.title if kind_policy else obligation.kind,
            calendar=self.calendar, now=now)
        self._violation(uow, violation, now, result)

    def _violation(self, uow: AbstractUnitOfWork, violation: Violation, now: datetime, result) -> None:
        if not uow.repo.add_violation(violation):
            return
        result.violations += 1
        if violation.obligation_id:
            uow.repo.add_history(violation.obligation_id, now, "violation", violation.trigger_event_id,
                                 {"violation_id": violation.id, "rule": violation.rule,
                                  "articles": list(violation.articles)})
        self._outbox(uow, messages.violation_message(violation), now, result)

    def _dead_letter(self, uow: AbstractUnitOfWork, origin: Origin, reason: str, now: datetime,
                     result: BatchResult, event: InboundEvent | None = None, department: str | None = None) -> None:
        message = messages.dead_letter(origin=origin, reason=reason, now=now, department=department, event=event)
        result.rejected += 1
        result.dead_letters.append(DeadLettered(origin, reason, event.id if event is not None else None))
        self._outbox(uow, message, now, result)

    @staticmethod
    def _outbox(uow: AbstractUnitOfWork, message: messages.OutgoingMessage, now: datetime, result) -> None:
        if uow.repo.add_outbox(message, now):
            result.outbox_rows += 1

    # ------------------------------------------------------------ time

    def tick(self, now: datetime | None = None) -> TickResult:
        """Overdue obligations and reminder stages due at ``now`` (default: the clock), in one transaction."""
        now = self.clock.now() if now is None else now
        def work(uow: AbstractUnitOfWork, attempt: int) -> TickResult:
            result = TickResult(attempts=attempt)
            more_periods = self._open_due_periods(uow, now, result)
            overdue = uow.repo.due_for_overdue(now, self.tick_limit)
            for obligation in overdue:
                self._overdue(uow, obligation, now, result)
            due = uow.repo.due_for_reminder(now, self.tick_limit)
            for obligation in due:
                self._remind(uow, obligation, now, result)
            result.more_due = more_periods or len(overdue) >= self.tick_limit or len(due) >= self.tick_limit
            return result

        return self._in_transaction("tick", work)

    def _remind(self, uow: AbstractUnitOfWork, obligation: Obligation, now: datetime, result: TickResult) -> None:
        reminder = send_reminder(obligation, now, self.calendar)
        uow.repo.save_obligation(obligation)
        if reminder is None or not uow.repo.add_reminder(reminder):
            return
        result.reminders += 1
        uow.repo.add_history(obligation.id, now, "reminded", None,
                             {"stage": reminder.stage, "working_days_left": reminder.working_days_left})
        self._outbox(uow, messages.reminder_message(reminder, obligation, self.reminder_text(obligation, reminder)),
                     now, result)

    def reminder_text(self, obligation: Obligation, reminder) -> str:
        policy = self.policies.by_id(obligation.policy_id)
        kind = policy.obligations.get(obligation.kind) if policy else None
        return wording.reminder_text(
            department_label=self.registry.label(obligation.department), due_date=obligation.due_date,
            title=kind.title if kind else obligation.kind, working_days_left=reminder.working_days_left,
            provisional=obligation.provisional, trigger_summary=obligation.trigger_summary,
            regulation_ref=policy.regulation_ref() if policy else "", article=obligation.article)
