"""The Chinese working-day calendar: the authority on which days count.

Official State Council notices live as data in ``config/calendars/<year>.yaml``
and win over the ``holidays`` package, which only fills years without a notice
(those years are *provisional* and every result touching them says so).
Counting follows 民法典 第二百零一条 (the start day is not counted) and
第二百零三条 (a period ends at 24:00 of its last day, Asia/Shanghai).

    cal = load_calendar()                     # or LiveCalendar() in a service
    cal.deadline(date(2026, 9, 25), 15)       # Deadline(due_date=2026-10-16, ...)
    cal.explain(date(2026, 9, 25), 15).text_zh()

Supported range: 2004-01-01 through 2030-12-31 (further if notices for later
years are added); dates outside raise ``OutOfRange``.
"""
from calendars.build import FIRST_DAY, load_calendar
from calendars.errors import CalendarError, OutOfRange
from calendars.live import DeadlineChange, LiveCalendar, changed_days, changed_deadlines
from calendars.notice_warning import MissingNotice, missing_notice_warning
from calendars.results import CountedDay, Deadline, Explanation, SkippedDay, YearEndWindow
from calendars.working_days import SHANGHAI, DayStatus, Reason, WorkingDayCalendar, YearSummary, end_of_day

__all__ = [
    "FIRST_DAY",
    "SHANGHAI",
    "CalendarError",
    "CountedDay",
    "DayStatus",
    "Deadline",
    "DeadlineChange",
    "Explanation",
    "LiveCalendar",
    "MissingNotice",
    "OutOfRange",
    "Reason",
    "SkippedDay",
    "WorkingDayCalendar",
    "YearEndWindow",
    "YearSummary",
    "changed_days",
    "changed_deadlines",
    "end_of_day",
    "load_calendar",
    "missing_notice_warning",
]
