"""The working-day calendar: a precomputed index over every supported day.

Per day we keep a working flag and a reason code; over the days a prefix count
of working days (``_cum[i]`` = working days among the first ``i`` days) and the
ordered list of working days. So:

- "is D a working day" is one array read;
- "the N-th working day after D" is ``_workdays[_cum[i + 1] + N - 1]``;
- "working days in (A, B]" is ``_cum[j + 1] - _cum[i + 1]``.

A day is *provisional* when the State Council may still change it: every day of
a year without a notice, and the year-end window of a year Y (26–31 December,
``calendar.yaml``) while Y+1 has no notice, because a year's notice has often
changed the last days of the December before it. ``_prov_cum`` counts those
days like ``_cum`` counts working days, so "does (A, B] touch a provisional
day" is O(1) too.

Every query is O(1); nothing walks day by day except ``explain``, which lists
the days on purpose. The snapshot is immutable: a reload builds a new one.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Sequence
from zoneinfo import ZoneInfo

from calendars.errors import OutOfRange
from calendars.results import CountedDay, Deadline, Explanation, SkippedDay, YearEndWindow
from calendars.sources import LocalCalendar, Notice, Shared

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a day has its status: shown in explanations. Empty for an ordinary weekday."""

    zh: str
    en: str
    source: str = ""


@dataclass(frozen=True)
class DayStatus:
    day: date
    working: bool
    reason: Reason
    provisional: bool


@dataclass(frozen=True)
class YearSummary:
    """What ``calendar show`` prints for one year."""

    year: int
    provisional: bool
    notice: Notice | None
    rest_days: tuple[DayStatus, ...]  # days off other than ordinary weekends
    make_up_days: tuple[DayStatus, ...]  # weekend days that are working days
    local_days: tuple[DayStatus, ...]  # days a local adjustment decides


class WorkingDayCalendar:
    """Working days in mainland China, from the loaded notices, over a fixed range of days."""

    def __init__(
        self,
        *,
        first_day: date,
        working: bytearray,
        reason_codes: array,
        reasons: Sequence[Reason],
        local_codes: frozenset[int],
        notices: dict[int, Notice],
        provisional_years: tuple[int, ...],
        shared: Shared,
        local: LocalCalendar | None,
    ):
        self.first_day = first_day
        self.last_day = first_day + timedelta(days=len(working) - 1)
        self.notices = dict(notices)
        self.shared = shared
        self.local = local
        self.jurisdiction = local.jurisdiction if local else None
        self._base = first_day.toordinal()
        self._ndays = len(working)
        self._working = bytes(working)
        self._reason_codes = reason_codes
        self._reasons = tuple(reasons)
        self._local_codes = local_codes
        cum = array("l", [0]) * (self._ndays + 1)
        ordinals = array("l")
        running = 0
        for i, flag in enumerate(self._working):
            if flag:
                ordinals.append(self._base + i)
                running += 1
            cum[i + 1] = running
        self._cum = cum
        self._workday_ordinals = ordinals
        self._workdays: tuple[date, ...] = tuple(date.fromordinal(o) for o in ordinals)
        self._provisional = tuple(sorted(provisional_years))
        self._provisional_spans = tuple(
            (date(y, 1, 1).toordinal(), date(y, 12, 31).toordinal(), y) for y in self._provisional
        )
        # Year-end windows of the years whose next year has no notice: (first, last, the missing year).
        self._window_spans = tuple(
            (date(y, 12, shared.year_end_first_day).toordinal(), date(y, 12, 31).toordinal(), y + 1)
            for y in range(first_day.year, self.last_day.year + 1) if (y + 1) not in self.notices
        )
        # 1 for a day the State Council may still change; prefix counts make "(a, b] touches one" O(1).
        unsettled = bytearray(self._ndays)
        for first, last, _ in (*self._provisional_spans, *self._window_spans):
            lo, hi = max(first - self._base, 0), min(last - self._base, self._ndays - 1)
            if lo <= hi:
                unsettled[lo:hi + 1] = b"\x01" * (hi - lo + 1)
        self._unsettled = bytes(unsettled)
        prov_cum = array("l", [0]) * (self._ndays + 1)
        running = 0
        for i, flag in enumerate(self._unsettled):
            running += flag
            prov_cum[i + 1] = running
        self._prov_cum = prov_cum
        self._ends: dict[int, datetime] = {}  # day index -> end instant, filled on demand

    # ----- single days -------------------------------------------------------------------------

    def _index(self, d: date) -> int:
        i = d.toordinal() - self._base
        if 0 <= i < self._ndays:
            return i
        raise OutOfRange(f"{_iso(d)} is outside the supported range {self.first_day}..{self.last_day}")

    def is_working_day(self, d: date) -> bool:
        return bool(self._working[self._index(d)])

    def is_day_provisional(self, d: date) -> bool:
        """True when a notice not yet loaded may still change d (its year's, or the next year's)."""
        return bool(self._unsettled[self._index(d)])

    # ----- counting ----------------------------------------------------------------------------

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d (n > 0) or before d (n < 0); d itself is never counted.

        n == 0 returns d unchanged, whatever kind of day it is.
        """
        i = d.toordinal() - self._base
        if not 0 <= i < self._ndays:
            raise OutOfRange(f"{_iso(d)} is outside the supported range {self.first_day}..{self.last_day}")
        if n > 0:
            k = self._cum[i + 1] + n - 1
        elif n < 0:
            k = self._cum[i] + n
        else:
            return d if type(d) is date else date.fromordinal(d.toordinal())
        if 0 <= k < len(self._workdays):
            return self._workdays[k]
        direction = "after" if n > 0 else "before"
        bound = self.last_day if n > 0 else self.first_day
        raise OutOfRange(f"the {abs(n)}th working day {direction} {_iso(d)} lies beyond {bound}, the end of the supported range")

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; when b < a, minus the working days in (b, a]."""
        return self._cum[self._index(b) + 1] - self._cum[self._index(a) + 1]

    def next_working_day(self, d: date) -> date:
        return self.add_working_days(d, 1)

    def previous_working_day(self, d: date) -> date:
        return self.add_working_days(d, -1)

    def deadline(self, start_day: date, n: int) -> Deadline:
        """Deadline of "within n working days from start_day" (民法典 第二百零一条、第二百零三条)."""
        if n < 0:
            raise ValueError(f"a deadline needs a number of working days >= 0, got {n}")
        due = self.add_working_days(start_day, n)
        start = start_day if type(start_day) is date else date.fromordinal(start_day.toordinal())
        i = start.toordinal() - self._base
        j = due.toordinal() - self._base
        end = self._ends.get(j)
        if end is None:
            end = self._ends[j] = end_of_day(due)
        if self._prov_cum[j + 1] == self._prov_cum[i + 1]:
            return Deadline(start, n, due, end, ())
        return Deadline(start, n, due, end, self.provisional_years_between(start, due))

    def working_days_left(self, now: datetime, due_date: date) -> int:
        """Working days in (local date of now, due_date]: 0 on the due day, negative once past.

        It is also 0 on a rest day right after the due day (no working day has
        passed since): decide "overdue" with ``Deadline.end``, not with this count.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("working_days_left needs a timezone-aware instant")
        return self.working_days_between(now.astimezone(SHANGHAI).date(), due_date)

    # ----- provisional years -------------------------------------------------------------------

    @property
    def provisional_years(self) -> tuple[int, ...]:
        """Years in the supported range without a loaded notice."""
        return self._provisional

    def is_provisional(self, year: int) -> bool:
        """True for a year whose State Council notice is not loaded (any year outside the data)."""
        return year not in self.notices

    def provisional_years_between(self, a: date, b: date) -> tuple[int, ...]:
        """Years without a notice whose notice may still change a day of (min(a, b), max(a, b)].

        A year Y+1 is named when the days touch Y+1 itself, or Y's year-end window:
        it is Y+1's missing notice that may still change those last days of Y.
        """
        lo, hi = a.toordinal(), b.toordinal()
        if lo > hi:
            lo, hi = hi, lo
        if lo == hi:
            return ()
        years = {y for first, last, y in self._provisional_spans if first <= hi and last > lo}
        years.update(y for first, last, y in self._window_spans if first <= hi and last > lo)
        return tuple(sorted(years))

    def year_end_window(self, year: int) -> tuple[date, date]:
        """The last days of ``year`` that the notice for ``year + 1`` may still change."""
        return date(year, 12, self.shared.year_end_first_day), date(year, 12, 31)

    def year_end_windows_between(self, a: date, b: date) -> tuple["YearEndWindow", ...]:
        """The open year-end windows (next year's notice missing) that (min(a, b), max(a, b)] touches."""
        lo, hi = sorted((a.toordinal(), b.toordinal()))
        return tuple(
            YearEndWindow(missing, date.fromordinal(first), date.fromordinal(last))
            for first, last, missing in self._window_spans
            if lo < hi and first <= hi and last > lo
        )

    # ----- explanations ------------------------------------------------------------------------

    def explain(self, start_day: date, n: int) -> Explanation:
        """The deadline with every day of (start_day, due_date]: counted, or skipped and why."""
        deadline = self.deadline(start_day, n)
        counted: list[CountedDay] = []
        skipped: list[SkippedDay] = []
        first = self._index(deadline.start_day) + 1
        last = self._index(deadline.due_date)
        for i in range(first, last + 1):
            day = date.fromordinal(self._base + i)
            reason = self._reasons[self._reason_codes[i]]
            if self._working[i]:
                counted.append(CountedDay(day, reason.zh, reason.en, reason.source))
            else:
                skipped.append(SkippedDay(day, reason.zh, reason.en, reason.source))
        start, due = deadline.start_day, deadline.due_date
        return Explanation(
            deadline=deadline,
            counted=tuple(counted),
            skipped=tuple(skipped),
            extrapolated_years=tuple(y for y in deadline.provisional_years
                                     if (start < date(y, 12, 31) and due >= date(y, 1, 1))),
            year_end_windows=self.year_end_windows_between(start, due) if deadline.provisional else (),
            citation_zh=self.shared.citation_zh,
            citation_en=self.shared.citation_en,
            rule_zh=self.shared.rule_zh,
            rule_en=self.shared.rule_en,
            jurisdiction=self.jurisdiction,
            jurisdiction_zh=self.local.name_zh if self.local else None,
            jurisdiction_en=self.local.name_en if self.local else None,
        )

    def year_summary(self, year: int) -> YearSummary:
        first = self._index(date(year, 1, 1))
        last = self._index(date(year, 12, 31))
        rest, make_up, local = [], [], []
        provisional = self.is_provisional(year)
        for i in range(first, last + 1):
            code = self._reason_codes[i]
            if code == WEEKEND_CODE or code == PLAIN_CODE:
                continue
            day = date.fromordinal(self._base + i)
            item = DayStatus(day, bool(self._working[i]), self._reasons[code], provisional)
            if code in self._local_codes:
                local.append(item)
            elif item.working:
                make_up.append(item)
            else:
                rest.append(item)
        return YearSummary(year, provisional, self.notices.get(year), tuple(rest), tuple(make_up), tuple(local))

    # ----- comparing snapshots -----------------------------------------------------------------

    def day_flags(self) -> tuple[date, bytes, bytes]:
        """(first day, working flag per day, provisional flag per day): what deadlines depend on.

        Two snapshots with equal flags give every deadline the same due date and provisional flag, so
        the tracker stores these bytes (a few kB) as the calendar its obligations were scheduled against.
        """
        return self.first_day, self._working, self._unsettled

    def days_differing_from(self, other: "WorkingDayCalendar") -> tuple[date, ...]:
        """Days whose working status or provisional flag differs in ``other`` (ascending).

        Compares the precomputed per-day arrays block by block (equal blocks cost one
        bytes comparison); days inside one snapshot's range only count as differing.
        """
        shift = other._base - self._base
        if shift < 0:
            return other.days_differing_from(self)
        n = min(self._ndays - shift, other._ndays)
        mine_w, mine_p = self._working[shift:shift + n], self._unsettled[shift:shift + n]
        theirs_w, theirs_p = other._working[:n], other._unsettled[:n]
        found: list[int] = list(range(shift))  # days before ``other`` begins
        block = 256
        for lo in range(0, n, block):
            hi = min(lo + block, n)
            if mine_w[lo:hi] == theirs_w[lo:hi] and mine_p[lo:hi] == theirs_p[lo:hi]:
                continue
            found.extend(shift + i for i in range(lo, hi)
                         if mine_w[i] != theirs_w[i] or mine_p[i] != theirs_p[i])
        longest = max(self._ndays, shift + other._ndays)
        found.extend(range(shift + n, longest))  # days after the shorter range ends
        return tuple(date.fromordinal(self._base + i) for i in found)

    # ----- batch support -----------------------------------------------------------------------

    def day_tables(self) -> "DayTables":
        """Flat tables for the batch command: one row's work becomes a few list reads."""
        return DayTables(self)

    def __repr__(self) -> str:
        where = f", jurisdiction={self.jurisdiction!r}" if self.jurisdiction else ""
        return f"<WorkingDayCalendar {self.first_day}..{self.last_day}, notices {min(self.notices, default='-')}..{max(self.notices, default='-')}, provisional {list(self._provisional)}{where}>"


PLAIN_CODE = 0  # an ordinary Monday–Friday working day
WEEKEND_CODE = 1  # an ordinary Saturday or Sunday


class DayTables:
    """Strings and counts per day index, so a CSV row needs no date objects at all.

    ``index_of`` maps "YYYY-MM-DD" to the day index; ``due_index(i, n)`` gives the
    due day's index; ``iso``/``end_iso`` give the output strings; ``provisional(i, j)``
    says whether days (i, j] touch a provisional year.
    """

    def __init__(self, calendar: WorkingDayCalendar):
        base = calendar._base
        n = calendar._ndays
        self.first_day = calendar.first_day
        self.last_day = calendar.last_day
        self.iso = [date.fromordinal(base + i).isoformat() for i in range(n + 1)]
        self.index_of = {text: i for i, text in enumerate(self.iso[:n])}
        self.end_iso = [f"{self.iso[i + 1]}T00:00:00+08:00" for i in range(n)]
        self.cum = list(calendar._cum)
        self.workday_index = [o - base for o in calendar._workday_ordinals]
        self.prov_cum = list(calendar._prov_cum)

    def due_index(self, i: int, n: int) -> int:
        if n == 0:
            return i
        k = self.cum[i + 1] + n - 1
        if k >= len(self.workday_index):
            raise OutOfRange(f"the deadline lies beyond {self.last_day}, the end of the supported range")
        return self.workday_index[k]

    def provisional(self, i: int, j: int) -> bool:
        return self.prov_cum[j + 1] != self.prov_cum[i + 1]


def end_of_day(day: date) -> datetime:
    """24:00 of ``day`` in Asia/Shanghai, as an instant: the start of the next day."""
    return datetime.combine(day + ONE_DAY, time(0), tzinfo=SHANGHAI)


def _iso(d: date) -> str:
    return d.isoformat() if isinstance(d, date) else repr(d)
