"""Every worker notices new holiday notice files by itself; the lease holder moves the deadlines.

Each worker process has its own ``LiveCalendar``: on every tick it asks it to
reload when a file in the calendar directory changed (stat calls only), so no
worker keeps computing deadlines on an old calendar. Only the relay lease
holder then reschedules the open obligations (once for the cluster; the
rescheduled events have deterministic ids anyway). ``POST /api/calendar/reload``
does the same on demand. The holder's first check (and the next one after a
failed reschedule) also compares the calendar with the one the obligations were
last scheduled against (stored), so a worker started after a notice file changed
(a deploy with a new file) reschedules by itself, and an interrupted job resumes.

Each tick also gives ``DailyNoticeWarning`` a look: once a day by the tracker's clock
(Asia/Shanghai date), from 1 November, it logs that next year's notice is missing and how
many open obligations are provisional because of it.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Callable

log = logging.getLogger(__name__)


class DailyNoticeWarning:
    """Logs the missing-next-notice warning once per local day of ``clock`` (nothing when there is none)."""

    def __init__(self, clock: Any, read_warning: Callable[[datetime], dict | None]):
        self.clock = clock  # models.clock.Clock
        self.read_warning = read_warning  # now -> models.sql.queries.missing_notice(...) or None
        self._logged_for: date | None = None

    def check(self) -> dict | None:
        from models.clock import SHANGHAI

        now = self.clock.now()
        today = now.astimezone(SHANGHAI).date()
        if today == self._logged_for:
            return None
        try:
            warning = self.read_warning(now)
        except Exception as exc:  # noqa: BLE001 - a database hiccup: try again on the next tick
            log.error("could not check for next year's holiday notice: %s", exc)
            return None
        self._logged_for = today
        if warning is not None:
            log.warning("%s | %s", warning["message_zh"], warning["message_en"])
        return warning


def notice_reader(engine: Any, calendar: Any) -> Callable[[datetime], dict | None]:
    """``read_warning`` for DailyNoticeWarning: the warning with its count, read from SQL."""

    def read(now: datetime) -> dict | None:
        from sqlalchemy.orm import Session

        from models.sql import queries

        with Session(engine) as session:
            return queries.missing_notice(session, now, calendar=calendar)

    return read


class CalendarWatcher:
    def __init__(self, calendar: Any, reschedule: Callable[..., Any],
                 daily: DailyNoticeWarning | None = None):
        self.calendar = calendar  # calendars.LiveCalendar
        self.reschedule = reschedule  # models.service.Tracker.reschedule_for_calendar (-> RescheduleResult)
        self.daily = daily
        self._last_error: str | None = None
        self._caught_up = False  # the holder compared the calendar with the stored one since it started

    def check(self, is_holder: bool) -> int:
        """Reload if the files changed; on the holder, reschedule. Returns how many obligations moved."""
        moved = self._reload(is_holder)
        if self.daily is not None:
            self.daily.check()  # after a reload, so a notice just added is no longer reported missing
        return moved

    def _reload(self, is_holder: bool) -> int:
        try:
            changed = self.calendar.reload_if_changed()
        except Exception as exc:  # noqa: BLE001 - a bad notice file: keep the old calendar, say so once
            if repr(exc) != self._last_error:
                log.error("the calendar files could not be loaded; the previous calendar stays in force: %s", exc)
                self._last_error = repr(exc)
            return 0
        self._last_error = None
        if changed is None:
            return self._catch_up() if is_holder and not self._caught_up else 0
        if not is_holder:
            log.info("calendar files changed: reloaded (the relay lease holder reschedules)")
            return 0
        result = self._rescheduled(*changed)
        if result is not None:
            log.warning("calendar files changed: reloaded; %d open obligations rescheduled (%d examined)",
                        result.moved, result.examined)
        return result.moved if result is not None else 0

    def _catch_up(self) -> int:
        """Reschedule against the stored calendar: nothing to do (milliseconds), a new file, or a job to resume."""
        result = self._rescheduled()
        if result is None:
            return 0
        if result.moved or result.examined:
            log.warning("the calendar differs from the one the obligations were scheduled against: "
                        "%d open obligations rescheduled (%d examined)", result.moved, result.examined)
        return result.moved

    def _rescheduled(self, *changed):
        try:
            result = self.reschedule(*changed)
        except Exception as exc:  # noqa: BLE001 - a database hiccup: the job resumes on the next check
            log.error("rescheduling after the calendar change failed (the next check resumes it): %s", exc)
            self._caught_up = False
            return None
        self._caught_up = True
        return result
