"""Update cycles (更新时限) and their periods, in Asia/Shanghai: which period a day is in, what comes next.

A resource's ``update_cycle`` (EVENTS.md) names how often its data are owed:
``daily`` (and ``realtime``, which counts as daily), ``weekly`` (ISO weeks,
Monday to Sunday), ``monthly``, ``quarterly``, ``half-yearly``, ``yearly``;
``irregular`` owes nothing periodic. A period is written as in
``gov.catalog.data.aggregated``: ``2026-11-20``, ``2026-W47``, ``2026-11``,
``2026-Q4``, ``2026-H2``, ``2026``. Plain Python: no calendar of working days
here (periods are calendar periods; deadlines after them are the calendar's).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from models.clock import SHANGHAI
from models.events import UPDATE_CYCLES

DAY = "day"
WEEK = "week"
MONTH = "month"
QUARTER = "quarter"
HALF = "half"
YEAR = "year"
KINDS = (DAY, WEEK, MONTH, QUARTER, HALF, YEAR)

CYCLES = UPDATE_CYCLES
PERIODIC_CYCLES = ("daily", "weekly", "monthly", "quarterly", "half-yearly", "yearly")  # each with its own limit
KIND_OF_CYCLE: dict[str, str | None] = {
    "realtime": DAY, "daily": DAY, "weekly": WEEK, "monthly": MONTH, "quarterly": QUARTER, "half-yearly": HALF,
    "yearly": YEAR, "irregular": None,
}
LIMIT_CYCLE = {"realtime": "daily"}  # whose working-day limit a cycle uses

# 2026 | 2026-11 | 2026-11-20 | 2026-W47 | 2026-Q4 | 2026-H2
PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])(-\d{2})?|-W\d{2}|-Q[1-4]|-H[12])?$"
_PATTERN = re.compile(PATTERN)
EXAMPLES = "2026-11-20, 2026-W47, 2026-11, 2026-Q4, 2026-H2 or 2026"


@dataclass(frozen=True, order=True)
class Period:
    """One period of a cycle: its first and last day (both included)."""

    start: date
    end: date
    kind: str

    @property
    def starts_at(self) -> datetime:
        """00:00 of its first day, Asia/Shanghai."""
        return datetime.combine(self.start, time(0), tzinfo=SHANGHAI)

    @property
    def ends_at(self) -> datetime:
        """24:00 of its last day (00:00 of the day after), Asia/Shanghai."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=SHANGHAI)

    def text(self) -> str:
        return format_period(self)

    def __str__(self) -> str:
        return format_period(self)


def kind_of_cycle(cycle: str | None) -> str | None:
    """The period kind a cycle owes, or None (``irregular``, or no cycle known)."""
    return KIND_OF_CYCLE.get(cycle or "")


def limit_cycle(cycle: str) -> str:
    """The cycle whose limit applies: ``realtime`` uses ``daily``'s."""
    return LIMIT_CYCLE.get(cycle, cycle)


def containing(kind: str, day: date) -> Period:
    """The period of ``kind`` that ``day`` falls in."""
    if kind == DAY:
        return Period(day, day, DAY)
    if kind == WEEK:
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=6), WEEK)
    if kind == MONTH:
        return _months(day.year, day.month, 1, MONTH)
    if kind == QUARTER:
        return _months(day.year, 3 * ((day.month - 1) // 3) + 1, 3, QUARTER)
    if kind == HALF:
        return _months(day.year, 1 if day.month <= 6 else 7, 6, HALF)
    if kind == YEAR:
        return Period(date(day.year, 1, 1), date(day.year, 12, 31), YEAR)
    raise ValueError(f"unknown period kind {kind!r}")


def _months(year: int, first_month: int, months: int, kind: str) -> Period:
    start = date(year, first_month, 1)
    after = first_month + months
    end = date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1) - timedelta(days=1)
    return Period(start, end, kind)


def following(period: Period) -> Period:
    """The next period of the same kind."""
    return containing(period.kind, period.end + timedelta(days=1))


def first_whole_period(kind: str, entered_at: datetime) -> Period:
    """The first period that the register holds the resource for from its first moment.

    Entered at 00:00 of a period's first day (Asia/Shanghai): that period;
    entered any later: the period after the one it entered in.
    """
    local = entered_at.astimezone(SHANGHAI)
    current = containing(kind, local.date())
    if local.date() == current.start and local.time() == time(0):
        return current
    return following(current)


def format_period(period: Period) -> str:
    start = period.start
    if period.kind == DAY:
        return start.isoformat()
    if period.kind == WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if period.kind == MONTH:
        return f"{start.year}-{start.month:02d}"
    if period.kind == QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period.kind == HALF:
        return f"{start.year}-H{1 if start.month == 1 else 2}"
    return f"{start.year}"


def parse_period(text: str) -> Period:
    """``2026-W47`` and the like to a Period; ``ValueError`` saying what is wrong otherwise."""
    if not isinstance(text, str) or not _PATTERN.match(text):
        raise ValueError(f"must be a period like {EXAMPLES}; got {text!r}")
    year = int(text[:4])
    rest = text[5:]
    if not rest:
        return containing(YEAR, date(year, 1, 1))
    if rest[0] == "W":
        week = int(rest[1:])
        try:
            monday = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r} names week {week}, which ISO year {year} does not have") from None
        return containing(WEEK, monday)
    if rest[0] == "Q":
        return containing(QUARTER, date(year, 3 * (int(rest[1]) - 1) + 1, 1))
    if rest[0] == "H":
        return containing(HALF, date(year, 1 if rest[1] == "1" else 7, 1))
    if len(rest) == 2:
        return containing(MONTH, date(year, int(rest), 1))
    try:
        return containing(DAY, date.fromisoformat(text))
    except ValueError:
        raise ValueError(f"{text!r} is not a day that exists") from None
