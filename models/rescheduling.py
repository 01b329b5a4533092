"""Moving open deadlines to a new calendar in proportion to what the calendar changed.

Which obligations can move
--------------------------
An obligation's deadline is the n-th working day after its start day (the start day never counts):
``due_date`` is the first day u > start_day with n working days in (start_day, u]; it is provisional
when a day of (start_day, due_date] is provisional (a year without its notice, or a year-end window
while the next notice is missing). ``due_end`` follows from ``due_date``.

Let D be the days whose working flag or provisional flag differs between the calendar an obligation was
scheduled against (old) and the new one. Claim: if no day of D lies in (start_day, old due_date], the new
calendar gives the same due date and the same provisional flag. Every day of (start_day, old due] has the
same working flag in both, so the new calendar counts the same working days up to every day of that
interval: the first day reaching n is again the old due date (the new count cannot reach n earlier, nor
later). The interval is the same, its provisional flags are the same, so the provisional flag is the same.
So a changed day d matters exactly when ``start_day < d <= old due_date``:

- d == start_day: never counted, never matters (a rest day on the start day moves nothing);
- d == due_date: inside; a due day that becomes a rest day pushes the deadline later;
- d > due_date (the day after, say): the old count reached n before d, and the new count of the days
  before d is the same, so nothing moves. A later day can only matter once the deadline has been pushed
  over it, and that push needs a changed day inside the interval: the obligation is examined anyway and
  recomputed in full with the new calendar (the days past the old due date included);
- a working day inside that becomes a rest day moves the deadline later, a rest day that becomes working
  moves it earlier; a holiday and its make-up day both inside may cancel out (examined, not moved);
- a provisional flag that changes inside (the year-end window or a year clearing when its notice comes)
  changes the provisional flag only when it was the interval's only provisional day: examined, maybe moved.

With D as runs of consecutive days [a, b], the obligation is a candidate when a run meets (start_day, due]:
``due_date >= a and start_day < b`` (``interval_touches``). The SQL side answers that with one range of
the index (status, due_date, start_day) per run (``models.sql.reschedule``): the work follows the
obligations due after the first changed day, not the table.

The job
-------
The calendar the obligations agree with is stored: the flags of the calendar of the last finished job
(``RescheduleJob.calendar_*``, a few kB). A reschedule compares the new calendar with it (and with the
``before`` calendar the caller names, when given: obligations opened under it agree with it), so a worker
started after a notice file changed finds the difference itself; no stored job yet means unknown, and every
open obligation is examined once. The candidates are queued in the database (one INSERT ... SELECT per run),
then examined in pages of ``page_size`` by id (keyset), each page one transaction: the obligations moved
(saved, history ``rescheduled``, outbox message), the job's cursor and counts, committed together. An
interrupted job resumes from its cursor; an obligation examined twice is already on the new calendar and
does not move again, and the outbox ids are deterministic: each ``rescheduled`` event exists once. A job
still running when the calendar changes again is superseded by one over the union of both changes.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from models import messages
from models.obligations import reschedule
from models.ports import AbstractUnitOfWork, Calendar, RescheduleJob

if TYPE_CHECKING:
    from models.obligations import Obligation

log = logging.getLogger(__name__)

RUNNING = "running"
DONE = "done"
SUPERSEDED = "superseded"
PAGE_SIZE = 2000
LOG_EVERY_PAGES = 10

Runs = tuple[tuple[date, date], ...]


# ------------------------------------------------------------------ the calendar's days

@dataclass(frozen=True)
class DayFlags:
    """A calendar as far as deadlines are concerned: a working flag and a provisional flag per day."""

    first_day: date
    working: bytes
    unsettled: bytes

    @classmethod
    def of(cls, calendar: Calendar) -> "DayFlags":
        first_day, working, unsettled = calendar.day_flags()
        return cls(first_day, bytes(working), bytes(unsettled))

    @classmethod
    def of_job(cls, job: RescheduleJob) -> "DayFlags":
        return cls(job.calendar_first_day, job.calendar_working, job.calendar_unsettled)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.first_day.isoformat().encode())
        digest.update(len(self.working).to_bytes(4, "big"))
        digest.update(self.working)
        digest.update(self.unsettled)
        return digest.hexdigest()

    def differing_days(self, other: "DayFlags") -> list[date]:
        """Days whose working or provisional flag differs (ascending); a day in only one range differs."""
        base = min(self.first_day, other.first_day).toordinal()
        end = max(self.first_day.toordinal() + len(self.working), other.first_day.toordinal() + len(other.working))
        mine, theirs = self._aligned(base, end), other._aligned(base, end)
        found: list[int] = []
        block = 256
        for lo in range(0, end - base, block):
            hi = min(lo + block, end - base)
            if mine[0][lo:hi] == theirs[0][lo:hi] and mine[1][lo:hi] == theirs[1][lo:hi]:
                continue
            found.extend(i for i in range(lo, hi) if mine[0][i] != theirs[0][i] or mine[1][i] != theirs[1][i])
        return [date.fromordinal(base + i) for i in found]

    def _aligned(self, base: int, end: int) -> tuple[bytes, bytes]:
        """Both flags over [base, end); 2 marks a day outside this calendar's range (it differs from 0 and 1)."""
        before = self.first_day.toordinal() - base
        after = end - self.first_day.toordinal() - len(self.working)
        return (b"\x02" * before + self.working + b"\x02" * after,
                b"\x02" * before + self.unsettled + b"\x02" * after)


def runs_of(days: Iterable[date]) -> Runs:
    """Ascending days as runs of consecutive days (first, last)."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return tuple((first, last) for first, last in runs)


def union(*parts: Runs | None) -> Runs | None:
    """The runs covering every day of the parts; None (unknown: every day) when any part is None."""
    if any(part is None for part in parts):
        return None
    return runs_of(first + timedelta(days=i) for part in parts for first, last in part
                   for i in range((last - first).days + 1))


def covers(runs: Runs | None, other: Runs | None) -> bool:
    """Every day of ``other`` is in ``runs`` (None is every day)."""
    if runs is None:
        return True
    if other is None:
        return False
    return union(runs, other) == runs


def interval_touches(start_day: date, due_date: date, runs: Runs | None) -> bool:
    """Whether a changed day lies in (start_day, due_date]: the one rule of which obligations can move."""
    if runs is None:
        return True
    return any(first <= due_date and last > start_day for first, last in runs)


def day_count(runs: Runs | None) -> int | None:
    return None if runs is None else sum((last - first).days + 1 for first, last in runs)


# ------------------------------------------------------------------ results

@dataclass(frozen=True)
class RescheduleResult:
    """What a reschedule did: examined (candidates loaded), moved (due date or provisional flag changed)."""

    examined: int = 0
    moved: int = 0
    job_id: int | None = None
    state: str = DONE
    candidates: int = 0
    pages: int = 0
    changed_days: int | None = 0  # None: unknown before, every open obligation examined

    @classmethod
    def of(cls, job: RescheduleJob) -> "RescheduleResult":
        return cls(job.examined, job.moved, job.id, job.state, job.candidates, job.pages, day_count(job.changed))


def job_state(job: RescheduleJob | None) -> dict | None:
    """A job as JSON-able data (``GET /api/calendar/reschedule``)."""
    if job is None:
        return None
    return {"id": job.id, "state": job.state, "fingerprint": job.fingerprint,
            "changed_days": day_count(job.changed),
            "changed": None if job.changed is None else [[a.isoformat(), b.isoformat()] for a, b in job.changed],
            "candidates": job.candidates, "examined": job.examined, "moved": job.moved, "pages": job.pages,
            "started_at": job.started_at.isoformat(), "updated_at": job.updated_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


# ------------------------------------------------------------------ the tracker's side

class Rescheduling:
    """Mixed into ``models.service.Tracker`` (its calendar, clock, units of work and retrying transaction)."""

    calendar: Calendar
    reschedule_page_size: int = PAGE_SIZE
    _in_transaction: Callable

    def reschedule_for_calendar(self, before: Calendar | None = None, after: Calendar | None = None, *,
                                page_size: int | None = None,
                                progress: Callable[[RescheduleResult], None] | None = None) -> RescheduleResult:
        """Move every open obligation whose deadline differs under ``after`` (default: the tracker's calendar).

        The days that changed are those between ``after`` and the calendar the obligations were last
        scheduled against (stored), and those between ``before`` and ``after`` when ``before`` is given.
        Nothing changed: no transaction writes, a few milliseconds. A job left running (interrupted) for
        the same calendar is resumed. ``progress`` is called after every page.
        """
        target = DayFlags.of(after if after is not None else self.calendar)
        requested = runs_of(DayFlags.of(before).differing_days(target)) if before is not None else None
        now = self.clock.now()
        job = self._in_transaction("reschedule plan",
                                   lambda uow, attempt: _plan(uow, target, requested, before is not None, now))
        if job is None:
            return RescheduleResult()
        log.info("reschedule job %s: %s changed days, %d obligations to examine", job.id,
                 "unknown" if job.changed is None else day_count(job.changed), job.candidates)
        return self._run_reschedule_job(job, after if after is not None else self.calendar, now,
                                        page_size or self.reschedule_page_size, progress)

    def reschedule_job(self) -> RescheduleJob | None:
        """The newest reschedule job (its state and counts), None before the first."""
        return self._in_transaction("reschedule state", lambda uow, attempt: uow.repo.latest_reschedule_job())

    def _run_reschedule_job(self, job: RescheduleJob, calendar: Calendar, now: datetime, page_size: int,
                            progress) -> RescheduleResult:
        job_id = job.id
        while True:
            current = self._in_transaction(
                "reschedule", lambda uow, attempt: _page(uow, job_id, calendar, now, page_size))
            if current.id != job_id:  # a newer job replaced this one: it examines what is left
                log.info("reschedule job %s was replaced by job %s", job_id, current.id)
                return replace(RescheduleResult.of(job), state=SUPERSEDED)
            job, result = current, RescheduleResult.of(current)
            if progress is not None:
                progress(result)
            if current.state != RUNNING or current.pages % LOG_EVERY_PAGES == 0:
                log.info("reschedule job %s: %d pages, %d of %d examined, %d moved%s", job_id, current.pages,
                         current.examined, current.candidates, current.moved,
                         "" if current.state == RUNNING else f" ({current.state})")
            if current.state != RUNNING:
                return result


def _plan(uow: AbstractUnitOfWork, target: DayFlags, requested: Runs | None, caller_named_before: bool,
          now: datetime) -> RescheduleJob | None:
    """The job to run (a new one, or the running one to resume), or None when nothing can have moved."""
    latest = uow.repo.latest_reschedule_job()
    asked: Runs | None = requested if caller_named_before else ()
    if latest is None:
        changed = asked if caller_named_before else None  # nothing stored: unknown unless the caller says
    else:
        since = runs_of(DayFlags.of_job(latest).differing_days(target))
        same_target = latest.fingerprint == target.fingerprint
        if latest.state == RUNNING:
            if same_target and covers(latest.changed, asked):
                return latest  # interrupted: resume from its cursor
            changed = union(latest.changed, since, asked)
            latest.state, latest.updated_at = SUPERSEDED, now
            uow.repo.save_reschedule_job(latest)
            uow.repo.drop_reschedule_candidates(latest.id)
        else:
            if same_target and covers(latest.changed, asked):
                return None  # the obligations are on this calendar already
            changed = union(since, asked)
    job = RescheduleJob(None, RUNNING, target.first_day, target.working, target.unsettled, target.fingerprint,
                        changed, now, now)
    uow.repo.add_reschedule_job(job)
    job.candidates = uow.repo.queue_reschedule_candidates(job.id, changed) if changed != () else 0
    uow.repo.save_reschedule_job(job)
    return job


def _page(uow: AbstractUnitOfWork, job_id: int, calendar: Calendar, now: datetime, page_size: int) -> RescheduleJob:
    """One page of the job in one transaction: the moved obligations and the cursor, together."""
    job = uow.repo.latest_reschedule_job()
    if job is None or job.id != job_id or job.state != RUNNING:
        return job
    page, last_id = uow.repo.reschedule_candidates(job_id, job.cursor, page_size)
    job.moved += move_all(uow, page, calendar, now)
    job.examined += len(page)
    if last_id is not None:
        job.pages += 1
        job.cursor = last_id
    else:  # the queue is done
        job.state, job.finished_at = DONE, now
        uow.repo.drop_reschedule_candidates(job_id)
    job.updated_at = now
    uow.repo.save_reschedule_job(job)
    return job


def move_all(uow: AbstractUnitOfWork, obligations: Sequence["Obligation"], calendar: Calendar,
             now: datetime) -> int:
    """Recompute each deadline of a page with ``calendar``; record, announce and save (one statement) those
    that moved. How many moved."""
    moved = []
    for obligation in obligations:
        previous_due, previous_provisional = obligation.due_date, obligation.provisional
        if not reschedule(obligation, calendar=calendar):
            continue
        moved.append(obligation)
        uow.repo.add_history(obligation.id, now, "rescheduled", None, {
            "previous_due_date": previous_due.isoformat(), "due_date": obligation.due_date.isoformat(),
            "previous_provisional": previous_provisional, "provisional": obligation.provisional})
        uow.repo.add_outbox(messages.obligation_rescheduled(obligation, previous_due, previous_provisional, now), now)
    uow.repo.save_rescheduled(moved)
    return len(moved)
