"""What the tracker does with the catalog register: catalog updates, data activities and the periods' duties.

``CatalogTracking`` is mixed into ``models.service.Tracker`` (it uses the
tracker's ``_complete``, ``_overdue``, ``_violation`` and ``_outbox``), so each
catalog concern is a method of its own called from ``Tracker._handle`` and
``Tracker.tick``:

- ``_register_update``: a catalog update applied to the department's register
  (``models.catalog``), its history written, the rules judged against what the
  register held before it (``models.catalog_rules``), the duties that follow
  (a new update cycle's periods, an entry onto the open list) opened, those
  that no longer hold cancelled, and the activities held for a resource that
  now appears judged;
- ``_data_activity``: a ``data.aggregated`` / ``.opened`` / ``.shared``: held
  when its resource is not in the register, else judged and completing what it
  fulfils;
- ``_open_due_periods``: the scheduler's share, in work proportional to the
  entries whose next period has begun (an indexed ``next_period_start``).

Periods owed are those whose whole span the resource was in the register
under its cycle: from the first whole period after it entered (or after the
cycle changed) to the last one that ended before it left (or changed again).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Callable

from models import messages, wording
from models.catalog import UNCHANGED, CatalogEntry, RegisterChange, apply_update
from models.catalog_rules import (activity_violations, enters_open_list, leaves_open_list, opening_counts,
                                  update_violations)
from models.events import CATALOG_UPDATED, CatalogUpdated, DataActivity, DataAggregated, DataOpened, InboundEvent
from models.ids import resource_obligation_id
from models.obligations import Obligation, Trigger, cancel, open_obligation
from models.periods import Period, first_whole_period, following, kind_of_cycle, parse_period
from models.policy import DATA_AGGREGATION, DATA_OPENING, Policy
from models.ports import AbstractUnitOfWork, CatalogHistory, HeldEvent, Origin, PendingResolution
from models.validation import event_from_attributes, to_cloudevent_dict

log = logging.getLogger(__name__)

MAX_PERIODS_PER_ENTRY = 400  # one tick opens at most this many periods of one entry (a year of days and more)


def aggregation_key(resource_code: str, period: str) -> str:
    """The pending-resolution key of an aggregation that arrived before its period's obligation."""
    return f"aggregation:{resource_code}/{period}"


def aggregation_subject(resource_code: str, period: str) -> str:
    return f"{resource_code}/{period}"


class CatalogTracking:
    """The register's share of ``models.service.Tracker`` (see the module docstring)."""

    # ------------------------------------------------------------ catalog updates

    def _register_update(self, uow: AbstractUnitOfWork, event: InboundEvent, update: CatalogUpdated,
                         policy: Policy, now: datetime, result) -> None:
        if not update.resources and not update.complete:
            return
        codes = None if update.complete else [resource.code for resource in update.resources]
        stored = uow.repo.catalog_entries(update.department, codes)
        versions = {code: entry.version for code, entry in stored.items()}
        changes = apply_update(stored, update, event_id=event.id, source=event.source)
        for change in changes:
            if change.action != UNCHANGED:
                self._follow_change(uow, event, update, change, policy, now, result)
                self._store_entry(uow, change.entry, versions)
            if change.action != UNCHANGED or change.disagreements:  # a disagreement is recorded even so
                uow.repo.add_catalog_history(CatalogHistory(
                    update.department, change.code, update.submitted_at, now, event.id, event.source, change.action,
                    update.catalog_version, change.entry.revision, change.history_detail()))
        for violation in update_violations(event, update, changes, policy=policy,
                                           department_label=self.registry.label(update.department), now=now):
            self._violation(uow, violation, now, result)
        for change in changes:
            if change.entered:
                self._release_held(uow, change.entry, now, result)

    @staticmethod
    def _store_entry(uow: AbstractUnitOfWork, entry: CatalogEntry, versions: dict[str, int]) -> None:
        """Add or save, whichever the register needs (an update may list one code twice)."""
        if entry.code in versions:
            entry.version = versions[entry.code]
            uow.repo.save_catalog_entry(entry)
        else:
            uow.repo.add_catalog_entry(entry)
        versions[entry.code] = entry.version

    def _follow_change(self, uow: AbstractUnitOfWork, event: InboundEvent, update: CatalogUpdated,
                       change: RegisterChange, policy: Policy, now: datetime, result) -> None:
        """The duties that change starts or ends: the periods of its update cycle, the opening of its data."""
        at, entry, old = update.submitted_at, change.entry, change.previous_entry
        cycle_changed = "update_cycle" in change.changed
        if old is not None and (change.removed or cycle_changed):
            reason = wording.CANCEL_REMOVED if change.removed else wording.CANCEL_CYCLE
            self._open_periods(uow, replace(old), lambda period: period.ends_at <= at, now, result)
            self._cancel_for_resource(uow, old, DATA_AGGREGATION, reason, now, result,
                                      lambda ob: ob.period is None or parse_period(ob.period).ends_at > at)
            entry.next_period = entry.next_period_start = None
        if entry.active and (change.entered or cycle_changed):
            kind = kind_of_cycle(entry.update_cycle)
            first = first_whole_period(kind, at) if kind is not None else None
            entry.next_period = first.text() if first else None
            entry.next_period_start = first.starts_at if first else None
        if enters_open_list(change):
            self._open_opening(uow, event, update, entry, policy, now, result)
        elif leaves_open_list(change):
            self._cancel_for_resource(uow, entry, DATA_OPENING,
                                      wording.CANCEL_REMOVED if change.removed else wording.CANCEL_CLOSED, now,
                                      result)

    def _open_opening(self, uow: AbstractUnitOfWork, event: InboundEvent, update: CatalogUpdated,
                      entry: CatalogEntry, policy: Policy, now: datetime, result) -> None:
        kind = policy.obligations.get(DATA_OPENING)
        if kind is None:
            return
        trigger = Trigger(event.source, event.id, event.type, event.start_day(), wording.opening_summary(
            wording.resource_name(entry.code, entry.name), entry.open_type, update.catalog_version,
            update.submitted_at), subject_ref=entry.code)
        obligation = open_obligation(
            trigger=trigger, department=entry.department, policy=policy, kind=kind, calendar=self.calendar,
            reminder_time=self.reminder_time, now=now, resource_code=entry.code,
            id=resource_obligation_id(DATA_OPENING, event.source, event.id, entry.department, entry.code))
        if self._add_opened(uow, obligation, policy, now, result) and obligation.is_past_deadline(now):
            self._overdue(uow, obligation, now, result, note=wording.NOTE_OVERDUE_ON_ARRIVAL)

    def _cancel_for_resource(self, uow: AbstractUnitOfWork, entry: CatalogEntry, kind: str, reason: str,
                             now: datetime, result, which: Callable[[Obligation], bool] = lambda ob: True) -> None:
        for obligation in uow.repo.obligations_for_resource(entry.department, entry.code, kind):
            if not (obligation.unfinished and which(obligation)):
                continue
            cancel(obligation)
            uow.repo.save_obligation(obligation)
            uow.repo.add_history(obligation.id, now, "cancelled", None, {"reason": reason})
            self._outbox(uow, messages.obligation_cancelled(obligation, reason, now), now, result)

    def _add_opened(self, uow: AbstractUnitOfWork, obligation: Obligation, policy: Policy, now: datetime,
                    result) -> bool:
        if not uow.repo.add_obligation(obligation):
            return False
        result.obligations_opened += 1
        detail = {"due_date": obligation.due_date.isoformat(), "policy_id": policy.id,
                  "policy_version": policy.version, "working_days": obligation.working_days,
                  "resource_code": obligation.resource_code}
        if obligation.period is not None:
            detail["period"] = obligation.period
        uow.repo.add_history(obligation.id, now, "opened", obligation.trigger_event_id, detail)
        self._outbox(uow, messages.obligation_opened(obligation, now), now, result)
        return True

    # ------------------------------------------------------------ the periods of an update cycle

    def _open_due_periods(self, uow: AbstractUnitOfWork, now: datetime, result) -> bool:
        """Open the obligations of every period that has begun; True when more entries are due than were done."""
        entries = uow.repo.due_catalog_periods(now, self.tick_limit)
        more = len(entries) >= self.tick_limit
        for entry in entries:
            self._open_periods(uow, entry, lambda period: period.starts_at <= now, now, result)
            uow.repo.save_catalog_entry(entry)
            more = more or (entry.next_period_start is not None and entry.next_period_start <= now)
        return more

    def _open_periods(self, uow: AbstractUnitOfWork, entry: CatalogEntry, due: Callable[[Period], bool],
                      now: datetime, result) -> None:
        """Open the entry's periods from ``next_period`` on while ``due(period)``; ``next_period`` moves on."""
        for _ in range(MAX_PERIODS_PER_ENTRY):
            if entry.next_period is None:
                return
            period = parse_period(entry.next_period)
            if not due(period):
                return
            self._open_period(uow, entry, period, now, result)
            upcoming = following(period)
            entry.next_period, entry.next_period_start = upcoming.text(), upcoming.starts_at

    def _open_period(self, uow: AbstractUnitOfWork, entry: CatalogEntry, period: Period, now: datetime,
                     result) -> None:
        policy = self.policies.policy_for(period.end, self.jurisdiction)
        kind = policy.obligations.get(DATA_AGGREGATION) if policy is not None else None
        if kind is None:  # no policy in force at the period's end defines it: nothing owed
            return
        text = period.text()
        trigger = Trigger(entry.cycle_source or "", entry.cycle_event_id or "", CATALOG_UPDATED, period.end,
                          wording.aggregation_summary(wording.resource_name(entry.code, entry.name),
                                                      entry.update_cycle or "", text, period.start, period.end),
                          subject_ref=aggregation_subject(entry.code, text))
        try:
            obligation = open_obligation(
                trigger=trigger, department=entry.department, policy=policy, kind=kind, calendar=self.calendar,
                reminder_time=self.reminder_time, now=now, working_days=kind.limit(entry.update_cycle),
                resource_code=entry.code, period=text,
                id=resource_obligation_id(DATA_AGGREGATION, trigger.source, trigger.event_id, entry.department,
                                          entry.code, text))
        except ValueError as exc:  # calendars.OutOfRange: no working-day data for the deadline
            log.warning("period %s of %s/%s not opened: the calendar cannot count its deadline: %s", text,
                        entry.department, entry.code, exc)
            return
        if not self._add_opened(uow, obligation, policy, now, result):
            return
        waiting = uow.repo.take_pending_resolutions(entry.department, aggregation_key(entry.code, text))
        if waiting:
            first = waiting[0]
            self._complete(uow, obligation, first.submitted_at, first.update_event_id, now, result,
                           note=wording.NOTE_AGGREGATED_BEFORE_OPENING)
        elif obligation.is_past_deadline(now):
            self._overdue(uow, obligation, now, result, note=wording.NOTE_OVERDUE_WHEN_OPENED)

    # ------------------------------------------------------------ data activities

    def _data_activity(self, uow: AbstractUnitOfWork, event: InboundEvent, data: DataActivity, policy: Policy,
                       now: datetime, result, origin: Origin | None) -> str | None:
        """Hold the activity, or judge it; a reason when it must be refused (dead-lettered), else None."""
        entry = uow.repo.catalog_entries(data.department, [data.resource_code]).get(data.resource_code)
        if entry is None or not entry.active:
            self._hold(uow, event, data, policy, now, result, origin)
            return None
        return self._judge_activity(uow, event, data, entry, policy, now, result)

    def _hold(self, uow: AbstractUnitOfWork, event: InboundEvent, data: DataActivity, policy: Policy,
              now: datetime, result, origin: Origin | None) -> None:
        wait = policy.unmatched_after_working_days
        unmatched_at = data.at
        if wait:
            try:
                unmatched_at = self.calendar.deadline(event.start_day(), wait).end
            except ValueError:  # beyond the calendar: listed at once
                pass
        held = HeldEvent(data.department, data.resource_code, event.source, event.id, event.type, data.at, now,
                         unmatched_at, wording.held_reason(data.resource_code, self.registry.label(data.department)),
                         to_cloudevent_dict(event), messages.stored_origin(origin) if origin is not None else {})
        if uow.repo.add_held_event(held):
            result.held += 1

    def _release_held(self, uow: AbstractUnitOfWork, entry: CatalogEntry, now: datetime, result) -> None:
        """Judge the activities that waited for this resource, earliest first, against the register now."""
        for held in uow.repo.take_held_events(entry.department, entry.code):
            event = event_from_attributes(held.event)
            policy = self.policies.policy_for(event.start_day(), self.jurisdiction)
            reason = (f"unassessed: start day {event.start_day().isoformat()} is outside every policy in force "
                      f"for {self.jurisdiction}" if policy is None else None)
            current = uow.repo.catalog_entries(entry.department, [entry.code])[entry.code]
            if reason is None:
                reason = self._judge_activity(uow, event, event.data, current, policy, now, result)
            if reason is not None:  # refused now: the dead letter it would have had on arrival
                uow.repo.forget_processed(event.source, event.id)
                self._outbox(uow, messages.dead_letter(origin=messages.origin_from_stored(held.origin),
                                                       reason=reason, now=now, department=entry.department,
                                                       event=event), now, result)

    def _judge_activity(self, uow: AbstractUnitOfWork, event: InboundEvent, data: DataActivity,
                        entry: CatalogEntry, policy: Policy, now: datetime, result) -> str | None:
        if isinstance(data, DataAggregated):
            refused = self._aggregated(uow, event, data, entry, now, result)
            if refused is not None:
                return refused
        elif isinstance(data, DataOpened):
            entry.last_opened_at = max(filter(None, (entry.last_opened_at, data.opened_at)))
            if opening_counts(data, entry, policy):
                for obligation in uow.repo.obligations_for_resource(entry.department, entry.code, DATA_OPENING):
                    if obligation.unfinished:
                        self._complete(uow, obligation, data.opened_at, event.id, now, result)
        else:
            entry.last_shared_at = max(filter(None, (entry.last_shared_at, data.at)))
        uow.repo.save_catalog_entry(entry)
        for violation in activity_violations(event, data, entry, policy=policy,
                                             department_label=self.registry.label(entry.department), now=now):
            self._violation(uow, violation, now, result)
        return None

    def _aggregated(self, uow: AbstractUnitOfWork, event: InboundEvent, data: DataAggregated, entry: CatalogEntry,
                    now: datetime, result) -> str | None:
        period = parse_period(data.period)
        kind = kind_of_cycle(entry.update_cycle)
        if kind is not None and period.kind != kind:
            return wording.period_mismatch_reason(data.period, period.kind, entry.code, entry.update_cycle, kind)
        if entry.last_aggregated_at is None or data.aggregated_at >= entry.last_aggregated_at:
            entry.last_aggregated_at, entry.last_aggregated_period = data.aggregated_at, data.period
        if kind is None:  # irregular (or no cycle stated): nothing periodic is owed
            return None
        subject = aggregation_subject(entry.code, data.period)
        found = [ob for ob in uow.repo.obligations_for_subject(DATA_AGGREGATION, entry.department, subject)
                 if ob.trigger_event_id == entry.cycle_event_id]
        for obligation in found:
            if obligation.unfinished:
                self._complete(uow, obligation, data.aggregated_at, event.id, now, result)
        if not found and entry.next_period_start is not None and period.starts_at >= entry.next_period_start:
            # its period's obligation has not opened yet: it completes it when it does
            uow.repo.add_pending_resolution(PendingResolution(entry.department, aggregation_key(entry.code, data.period),
                                                              event.id, event.source, data.aggregated_at, ""))
        return None
