"""What a deadline computation returns: the deadline itself and its explanation.

Both are plain frozen values so the worker can store them and a supervisor can
read them long after the calendar that produced them has been reloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Deadline:
    """The end of the ``working_days``-th working day after ``start_day``.

    ``end`` is the instant the period ends: 24:00 of ``due_date`` in
    Asia/Shanghai, written as the start of the next day. ``provisional_years``
    names the years without a loaded State Council notice that the counting
    window (start_day, due_date] touches; such a deadline may still move.
    """

    start_day: date
    working_days: int
    due_date: date
    end: datetime
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


@dataclass(frozen=True, slots=True)
class YearEndWindow:
    """The last days of a year that the next year's notice (not loaded yet) may still change."""

    missing_year: int  # the year whose notice is missing
    first_day: date
    last_day: date

    def to_dict(self) -> dict[str, Any]:
        return {"missing_year": self.missing_year, "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat()}


@dataclass(frozen=True, slots=True)
class CountedDay:
    day: date
    note_zh: str  # "" for an ordinary weekday; 调休上班（…） for a make-up working day
    note_en: str
    source: str  # document number(s) behind the note, "" if none


@dataclass(frozen=True, slots=True)
class SkippedDay:
    day: date
    reason_zh: str  # 周末, 春节, 国庆节, ...
    reason_en: str
    source: str


@dataclass(frozen=True)
class Explanation:
    """Which days a deadline counted and which it skipped, and why."""

    deadline: Deadline
    counted: tuple[CountedDay, ...]
    skipped: tuple[SkippedDay, ...]
    citation_zh: str
    citation_en: str
    rule_zh: str
    rule_en: str
    jurisdiction: str | None = None
    jurisdiction_zh: str | None = None
    jurisdiction_en: str | None = None
    # Why the deadline is provisional: years without a notice whose own days are counted (None: all of
    # provisional_years), and the year-end windows counted while the next year's notice is missing.
    extrapolated_years: tuple[int, ...] | None = None
    year_end_windows: tuple[YearEndWindow, ...] = ()

    @property
    def years_extrapolated(self) -> tuple[int, ...]:
        if self.extrapolated_years is None:
            return self.deadline.provisional_years
        return self.extrapolated_years

    @property
    def start_day(self) -> date:
        return self.deadline.start_day

    @property
    def working_days(self) -> int:
        return self.deadline.working_days

    @property
    def due_date(self) -> date:
        return self.deadline.due_date

    @property
    def end(self) -> datetime:
        return self.deadline.end

    @property
    def provisional(self) -> bool:
        return self.deadline.provisional

    @property
    def provisional_years(self) -> tuple[int, ...]:
        return self.deadline.provisional_years

    @property
    def sources(self) -> tuple[str, ...]:
        """Every document relied on, in the order first met."""
        seen: dict[str, None] = {}
        for item in (*self.counted, *self.skipped):
            for part in item.source.split("、"):
                if part:
                    seen.setdefault(part, None)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (dates as YYYY-MM-DD, the end as RFC 3339)."""
        return {
            "start_day": self.start_day.isoformat(),
            "working_days": self.working_days,
            "due_date": self.due_date.isoformat(),
            "end": self.end.isoformat(),
            "provisional": self.provisional,
            "provisional_years": list(self.provisional_years),
            "year_end_windows": [w.to_dict() for w in self.year_end_windows],
            "jurisdiction": self.jurisdiction,
            "citation_zh": self.citation_zh,
            "citation_en": self.citation_en,
            "counted": [
                {"date": c.day.isoformat(), "note_zh": c.note_zh, "note_en": c.note_en, "source": c.source}
                for c in self.counted
            ],
            "skipped": [
                {"date": s.day.isoformat(), "reason_zh": s.reason_zh, "reason_en": s.reason_en, "source": s.source}
                for s in self.skipped
            ],
        }

    def text_zh(self) -> str:
        d = self.deadline
        lines = [
            f"计算依据：{self.citation_zh}（{self.rule_zh}）",
            f"起算日：{_day_zh(d.start_day)}，当日不计入",
            f"期限：{d.working_days} 个工作日",
            f"截止日：{_day_zh(d.due_date)}",
            f"届满时刻：{d.due_date.isoformat()} 24:00（北京时间，即 {d.end.isoformat()}）",
        ]
        if self.jurisdiction:
            lines.append(f"适用地区：全国安排，叠加{self.jurisdiction_zh or self.jurisdiction}的地方调整")
        if d.provisional and self.years_extrapolated:
            years = "、".join(f"{y} 年" for y in self.years_extrapolated)
            lines.append(
                f"【暂定】{years}的国务院节假日安排尚未载入：这些日期只按法定节日推算，调休上班日未知，截止日可能变化。"
            )
        for window in self.year_end_windows:
            lines.append(
                f"【暂定】{window.missing_year} 年的国务院节假日安排尚未载入，而下一年的通知曾多次调整上一年年末的日期"
                f"（例如 2018-12-29 调休上班、2018-12-31 放假）：本期限的计算经过 {window.first_day.isoformat()} 至 "
                f"{window.last_day.isoformat()} 这段日期，其中的日子仍可能改为放假或上班，截止日可能变化。"
            )
        lines.append(f"计入的工作日（{len(self.counted)} 天）：")
        for number, item in enumerate(self.counted, 1):
            note = f" {item.note_zh}" if item.note_zh else ""
            source = f"（{item.source}）" if item.note_zh and item.source else ""
            lines.append(f"  第{number}天 {_day_zh(item.day)}{note}{source}")
        lines.append(f"跳过的日期（{len(self.skipped)} 天）：")
        for item in self.skipped:
            source = f"（{item.source}）" if item.source else ""
            lines.append(f"  {_day_zh(item.day)} {item.reason_zh}{source}")
        if self.sources:
            lines.append(f"依据文件：{'、'.join(self.sources)}")
        return "\n".join(lines)

    def text_en(self) -> str:
        d = self.deadline
        lines = [
            f"Basis: {self.citation_en} ({self.rule_en})",
            f"Start day: {_day_en(d.start_day)}, not counted",
            f"Period: {d.working_days} working days",
            f"Due date: {_day_en(d.due_date)}",
            f"Ends: {d.due_date.isoformat()} 24:00 Asia/Shanghai ({d.end.isoformat()})",
        ]
        if self.jurisdiction:
            lines.append(f"Jurisdiction: national arrangement with the local adjustments of {self.jurisdiction_en or self.jurisdiction}")
        if d.provisional and self.years_extrapolated:
            years = ", ".join(str(y) for y in self.years_extrapolated)
            lines.append(
                f"PROVISIONAL: no State Council notice is loaded for {years}; those days follow the statutory "
                "holidays only, make-up working days are unknown, and the due date may still change."
            )
        for window in self.year_end_windows:
            lines.append(
                f"PROVISIONAL: no State Council notice is loaded for {window.missing_year}, and a year's notice has "
                "often changed the last days of the year before it (e.g. 2018-12-29 worked, 2018-12-31 off): this "
                f"deadline is counted across {window.first_day.isoformat()} to {window.last_day.isoformat()}, whose "
                "days may still become rest or working days, and the due date may still change."
            )
        lines.append(f"Working days counted ({len(self.counted)}):")
        for number, item in enumerate(self.counted, 1):
            note = f" {item.note_en}" if item.note_en else ""
            source = f" ({item.source})" if item.note_en and item.source else ""
            lines.append(f"  day {number}: {_day_en(item.day)}{note}{source}")
        lines.append(f"Days skipped ({len(self.skipped)}):")
        for item in self.skipped:
            source = f" ({item.source})" if item.source else ""
            lines.append(f"  {_day_en(item.day)} {item.reason_en}{source}")
        if self.sources:
            lines.append(f"Documents: {', '.join(self.sources)}")
        return "\n".join(lines)


def _day_zh(day: date) -> str:
    return f"{day.isoformat()}（{WEEKDAYS_ZH[day.weekday()]}）"


def _day_en(day: date) -> str:
    return f"{day.isoformat()} ({WEEKDAYS_EN[day.weekday()]})"
