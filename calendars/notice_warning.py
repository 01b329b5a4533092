"""Saying so when next year's notice is missing.

From 1 November of year Y (``missing_notice_warning.from`` in ``calendar.yaml``), while
Y+1 has no notice file, every deadline counted across Y's year-end window or into Y+1 is
provisional. ``missing_notice_warning(today, calendar, count_open)`` returns what
``/api/health``, ``/readyz``, the dashboard and the worker's log say then, or None. The
calendar knows nothing of SQL: ``count_open(first, last)`` is the caller's count of the
open obligations whose counting interval touches [first, last] (``models.sql.queries``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable


@dataclass(frozen=True)
class MissingNotice:
    year: int  # the year whose notice is missing
    since: date  # the day the warning began
    affects_from: date  # the first day that waits for it: Y's year-end window
    affects_to: date  # 31 December of the missing year
    provisional_open: int | None = None  # open obligations provisional because of it (None: not counted)

    @property
    def message_zh(self) -> str:
        count = (f"目前有 {self.provisional_open} 项未完成义务的期限因此暂定、可能变化。"
                 if self.provisional_open is not None else "")
        return (f"{self.year} 年的国务院节假日安排通知尚未载入：计算经过 {self.affects_from.isoformat()} 及以后日期的"
                f"期限均为暂定。{count}{self.needed_zh}")

    @property
    def message_en(self) -> str:
        n = self.provisional_open
        count = (f" {n} open obligation{'' if n == 1 else 's'} {'is' if n == 1 else 'are'} provisional because of it"
                 " and may still move." if n is not None else "")
        return (f"The State Council's holiday notice for {self.year} is not loaded: deadlines counted across "
                f"{self.affects_from.isoformat()} or later are provisional.{count} {self.needed_en}")

    @property
    def needed_zh(self) -> str:
        return (f"通知发布后，请导入：catalog-tracker calendar import --year {self.year} 通知.txt"
                f"（生成 config/calendars/{self.year}.yaml）。")

    @property
    def needed_en(self) -> str:
        return (f"Once it is published, import it: catalog-tracker calendar import --year {self.year} notice.txt "
                f"(writes config/calendars/{self.year}.yaml).")

    def with_count(self, provisional_open: int) -> "MissingNotice":
        return replace(self, provisional_open=provisional_open)

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "since": self.since.isoformat(),
            "affects_from": self.affects_from.isoformat(),
            "affects_to": self.affects_to.isoformat(),
            "provisional_open": self.provisional_open,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "needed_zh": self.needed_zh,
            "needed_en": self.needed_en,
        }


def missing_notice_warning(today: date, calendar, count_open: Callable[[date, date], int] | None = None
                           ) -> MissingNotice | None:
    """The warning due on ``today`` (a local date in Asia/Shanghai), or None.

    ``calendar`` is a ``WorkingDayCalendar`` or a ``LiveCalendar`` (its current snapshot).
    """
    snapshot = getattr(calendar, "current", calendar)
    month, day = snapshot.shared.warning_from
    since = date(today.year, month, day)
    next_year = today.year + 1
    if today < since or not snapshot.is_provisional(next_year):
        return None
    first, _ = snapshot.year_end_window(today.year)
    warning = MissingNotice(next_year, since, first, date(next_year, 12, 31))
    if count_open is not None:
        warning = warning.with_count(count_open(warning.affects_from, warning.affects_to))
    return warning
