"""Obligations: what a department owes by when, and how that changes.

Plain Python, no database. An obligation is opened from a triggering event
under the policy in force on the event's start day; its deadline comes from
the calendar (legal counting, Asia/Shanghai). Status goes ``open`` ->
``completed`` (on time or late) or ``open`` -> ``overdue`` -> ``completed``
(late). Whether a completion was on time is decided by the time in the
completing event (``submitted_at``/``resolved_at``), never by when it was
processed, so a replay gives the same answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from models.clock import SHANGHAI
from models.ids import obligation_id
from models.policy import ObligationKind, Policy
from models.ports import Calendar
from models.reminders import next_reminder_at

OPEN = "open"
COMPLETED = "completed"
OVERDUE = "overdue"
CANCELLED = "cancelled"
STATUSES = (OPEN, COMPLETED, OVERDUE, CANCELLED)
UNFINISHED = (OPEN, OVERDUE)


class ConcurrentUpdate(RuntimeError):
    """Someone else changed the obligation since it was read; the transaction is retried."""


@dataclass
class Trigger:
    """The event an obligation answers, and how to describe it to a supervisor."""

    source: str
    event_id: str
    type: str
    start_day: date
    summary: str  # Chinese, e.g. 法律法规修订《…》（修订），修订日期 2026-03-02
    subject_ref: str | None = None  # objection id for data-verification


@dataclass
class Obligation:
    id: str
    kind: str
    department: str
    trigger_source: str
    trigger_event_id: str
    trigger_type: str
    trigger_summary: str
    subject_ref: str | None
    start_day: date
    working_days: int
    due_date: date
    due_end: datetime
    provisional: bool
    policy_id: str
    policy_version: str
    article: str
    overdue_citations: tuple[str, ...]
    reminder_stages: tuple[int, ...]
    reminder_time: str
    opened_at: datetime
    status: str = OPEN
    stages_sent: tuple[int, ...] = ()
    next_reminder_at: datetime | None = None
    on_time: bool | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    working_days_taken: int | None = None
    version: int = 0
    resource_code: str | None = None  # data-aggregation / data-opening: the catalog resource
    period: str | None = None  # data-aggregation: the period of the resource's update cycle, e.g. 2026-11

    @property
    def unfinished(self) -> bool:
        return self.status in UNFINISHED

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def is_past_deadline(self, now: datetime) -> bool:
        return past_deadline(self.due_end, now)


def past_deadline(due_end: datetime, now: datetime) -> bool:
    """The one rule for "the period has ended": at 24:00 of the due day (``due_end``) and after."""
    return now >= due_end


def counts_as_overdue(status: str, is_past_deadline: bool) -> bool:
    """Overdue in figures and summaries: marked overdue, or still open past its deadline (no tick saw it yet)."""
    return status == OVERDUE or (status == OPEN and is_past_deadline)


def open_obligation(*, trigger: Trigger, department: str, policy: Policy, kind: ObligationKind,
                    calendar: Calendar, reminder_time: str, now: datetime, working_days: int | None = None,
                    id: str | None = None, resource_code: str | None = None,
                    period: str | None = None) -> Obligation:
    """A new open obligation with its deadline and first reminder time.

    ``working_days`` (default: the kind's one limit) for kinds whose limit depends on the resource (its update
    cycle); ``id``, ``resource_code`` and ``period`` for obligations about one catalog resource.
    """
    days = kind.working_days if working_days is None else working_days
    deadline = calendar.deadline(trigger.start_day, days)
    obligation = Obligation(
        id=id or obligation_id(kind.kind, trigger.source, trigger.event_id, department),
        kind=kind.kind,
        department=department,
        trigger_source=trigger.source,
        trigger_event_id=trigger.event_id,
        trigger_type=trigger.type,
        trigger_summary=trigger.summary,
        subject_ref=trigger.subject_ref,
        start_day=trigger.start_day,
        working_days=days,
        due_date=deadline.due_date,
        due_end=deadline.end,
        provisional=bool(deadline.provisional),
        policy_id=policy.id,
        policy_version=policy.version,
        article=kind.article,
        overdue_citations=kind.overdue_citations,
        reminder_stages=kind.reminder_stages if kind.reminder_stages is not None else policy.reminder_stages,
        reminder_time=policy.reminder_time or reminder_time,
        opened_at=now,
        resource_code=resource_code,
        period=period,
    )
    obligation.next_reminder_at = next_reminder_at(obligation, calendar)
    return obligation


def complete(obligation: Obligation, *, at: datetime, by_event_id: str, calendar: Calendar) -> None:
    """Mark done at ``at`` (the time in the completing event); on time when before the deadline's end."""
    if not obligation.unfinished:
        raise ValueError(f"obligation {obligation.id} is {obligation.status}, it cannot be completed")
    obligation.status = COMPLETED
    obligation.on_time = at < obligation.due_end
    obligation.completed_at = at
    obligation.completed_by = by_event_id
    obligation.next_reminder_at = None
    done_day = at.astimezone(SHANGHAI).date()
    obligation.working_days_taken = max(0, calendar.working_days_between(obligation.start_day, done_day))


def mark_overdue(obligation: Obligation, now: datetime) -> None:
    if obligation.status != OPEN:
        raise ValueError(f"obligation {obligation.id} is {obligation.status}, not open")
    if not obligation.is_past_deadline(now):
        raise ValueError(f"obligation {obligation.id} is not past its deadline at {now}")
    obligation.status = OVERDUE
    obligation.next_reminder_at = None


def cancel(obligation: Obligation) -> None:
    """No longer owed (its resource left the catalog, its cycle or open type changed)."""
    if not obligation.unfinished:
        raise ValueError(f"obligation {obligation.id} is {obligation.status}, it cannot be cancelled")
    obligation.status = CANCELLED
    obligation.next_reminder_at = None


def reschedule(obligation: Obligation, *, calendar: Calendar) -> bool:
    """Recompute the deadline with ``calendar``; True when due date, end or provisional flag changed.

    Reminder stages already sent stay sent; the next reminder follows the new dates.
    """
    deadline = calendar.deadline(obligation.start_day, obligation.working_days)
    changed = (deadline.due_date != obligation.due_date or deadline.end != obligation.due_end
               or bool(deadline.provisional) != obligation.provisional)
    if not changed:
        return False
    obligation.due_date = deadline.due_date
    obligation.due_end = deadline.end
    obligation.provisional = bool(deadline.provisional)
    if obligation.status == OPEN:
        obligation.next_reminder_at = next_reminder_at(obligation, calendar)
    return True
