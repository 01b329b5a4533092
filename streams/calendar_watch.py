"""Every worker notices new holiday notice files by itself; the lease holder moves the deadlines.

Each worker process has its own ``LiveCalendar``: on every tick it asks it to
reload when a file in the calendar directory changed (stat calls only), so no
worker keeps computing deadlines on an old calendar. Only the relay lease
holder then reschedules the open obligations (once for the cluster; the
rescheduled events have deterministic ids anyway). ``POST /api/calendar/reload``
does the same on demand.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


class CalendarWatcher:
    def __init__(self, calendar: Any, reschedule: Callable[[Any, Any], int]):
        self.calendar = calendar  # calendars.LiveCalendar
        self.reschedule = reschedule  # models.service.Tracker.reschedule_for_calendar
        self._last_error: str | None = None

    def check(self, is_holder: bool) -> int:
        """Reload if the files changed; on the holder, reschedule. Returns how many obligations moved."""
        try:
            changed = self.calendar.reload_if_changed()
        except Exception as exc:  # noqa: BLE001 - a bad notice file: keep the old calendar, say so once
            if repr(exc) != self._last_error:
                log.error("the calendar files could not be loaded; the previous calendar stays in force: %s", exc)
                self._last_error = repr(exc)
            return 0
        self._last_error = None
        if changed is None:
            return 0
        if not is_holder:
            log.info("calendar files changed: reloaded (the relay lease holder reschedules)")
            return 0
        moved = self.reschedule(*changed)
        log.warning("calendar files changed: reloaded; %d open obligations rescheduled", moved)
        return moved
