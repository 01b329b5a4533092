"""Reminder stages: when each one goes out, and which one is due now.

A stage is a number of working days left (policy default 5, 3, 1 and 0 = the
due day). Stage ``s`` goes out on the working day from which exactly ``s``
working days remain up to the due date, at the configured local time. Each
stage goes out once; when several are due at once (an obligation that arrived
late, or a worker that was down), only the latest is sent and the earlier ones
are skipped for good: a department gets one current reminder, never a burst.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING

from models.clock import SHANGHAI
from models.ids import reminder_id
from models.ports import Calendar

if TYPE_CHECKING:  # obligations import this module to set reminder times: the type only, no cycle
    from models.obligations import Obligation


@dataclass(frozen=True)
class Reminder:
    id: str
    obligation_id: str
    department: str
    stage: int
    working_days_left: int
    due_date: date
    sent_at: datetime


def stage_day(due_date: date, stage: int, calendar: Calendar) -> date:
    return due_date if stage == 0 else calendar.add_working_days(due_date, -stage)


def stage_send_time(obligation: Obligation, stage: int, calendar: Calendar) -> datetime:
    day = stage_day(obligation.due_date, stage, calendar)
    return datetime.combine(day, _reminder_clock(obligation), tzinfo=SHANGHAI)


def remaining_stages(obligation: Obligation) -> list[int]:
    """Stages still to go: not sent, and later than every stage already sent (skipped ones stay skipped)."""
    lowest_sent = min(obligation.stages_sent) if obligation.stages_sent else None
    return [s for s in obligation.reminder_stages if lowest_sent is None or s < lowest_sent]


def next_reminder_at(obligation: Obligation, calendar: Calendar) -> datetime | None:
    """When the tick should next look at this obligation for reminders (may be in the past)."""
    if not obligation.is_open:
        return None
    times = [stage_send_time(obligation, s, calendar) for s in remaining_stages(obligation)]
    times = [t for t in times if t < obligation.due_end]
    return min(times) if times else None


def _reminder_clock(obligation: Obligation) -> time:
    return _clock_of(obligation.reminder_time)


@lru_cache(maxsize=64)
def _clock_of(text: str) -> time:
    """"09:00" as a time of day (read once per text: every reminder time of every obligation asks)."""
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes)


def is_sending_time(obligation: Obligation, now: datetime, calendar: Calendar) -> bool:
    """Reminders go out on working days from the reminder time on (a late tick on a weekend waits)."""
    local = now.astimezone(SHANGHAI)
    return calendar.is_working_day(local.date()) and local.time() >= _reminder_clock(obligation)


def next_sending_time(obligation: Obligation, now: datetime, calendar: Calendar) -> datetime:
    """The first working-day reminder time at or after ``now``."""
    local = now.astimezone(SHANGHAI)
    day = local.date()
    if not (calendar.is_working_day(day) and local.time() <= _reminder_clock(obligation)):
        day = calendar.add_working_days(day, 1)
    return datetime.combine(day, _reminder_clock(obligation), tzinfo=SHANGHAI)


def due_stage(obligation: Obligation, now: datetime, calendar: Calendar) -> int | None:
    """The latest stage whose time has come, or None; nothing once the deadline has passed."""
    if not obligation.is_open or obligation.is_past_deadline(now) or not is_sending_time(obligation, now, calendar):
        return None
    due = [s for s in remaining_stages(obligation) if stage_send_time(obligation, s, calendar) <= now]
    return min(due) if due else None


def send_reminder(obligation: Obligation, now: datetime, calendar: Calendar) -> Reminder | None:
    """Record the due stage as sent and move ``next_reminder_at`` on; the Reminder to publish, if any."""
    stage = due_stage(obligation, now, calendar)
    if stage is None:
        obligation.next_reminder_at = _next_after(obligation, now, calendar)
        return None
    obligation.stages_sent = tuple(sorted((*obligation.stages_sent, stage), reverse=True))
    obligation.next_reminder_at = next_reminder_at(obligation, calendar)
    return Reminder(
        id=reminder_id(obligation.id, stage),
        obligation_id=obligation.id,
        department=obligation.department,
        stage=stage,
        working_days_left=calendar.working_days_left(now, obligation.due_date),
        due_date=obligation.due_date,
        sent_at=now,
    )


def _next_after(obligation: Obligation, now: datetime, calendar: Calendar) -> datetime | None:
    """Nothing to send now: when to look again (a waiting catch-up goes out at the next sending time)."""
    upcoming = next_reminder_at(obligation, calendar)
    if upcoming is None or upcoming > now:
        return upcoming
    if obligation.is_past_deadline(now):
        return None
    retry = next_sending_time(obligation, now, calendar)
    return retry if retry < obligation.due_end else None
