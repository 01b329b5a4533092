"""The yearly evaluation of every department (第二十四条): the arithmetic, apart from how figures are read.

The read side (``models.sql.queries.evaluation``) counts stored facts grouped
by outcome and hands them here; everything a supervisor sees — which outcome
counts as what, the on-time rate, the average working days taken, the totals
row — is decided in this module, so replaying the same events gives the same
report whatever store it was read from.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time
from typing import Any, Iterable, Mapping

from models import wording
from models.clock import SHANGHAI
from models.obligations import COMPLETED, OPEN, counts_as_overdue

ARTICLE = "第二十四条"


def year_end(year: int) -> datetime:
    """24:00 of 31 December of ``year``, Asia/Shanghai."""
    return datetime.combine(date(year + 1, 1, 1), time(0), tzinfo=SHANGHAI)


def as_of(year: int, now: datetime | None) -> datetime:
    """The instant a year is judged at: now while it runs, its end once it is over (a past year never changes)."""
    return min(now, year_end(year)) if now is not None else year_end(year)


class Tally:
    """Obligation outcomes and violations per department, fed group by group."""

    def __init__(self) -> None:
        self.figures: dict[str, Counter] = defaultdict(Counter)
        self.by_rule: dict[str, Counter] = defaultdict(Counter)
        self.by_article: dict[str, Counter] = defaultdict(Counter)

    def add_obligations(self, department: str, *, status: str, on_time: bool | None, past_deadline: bool,
                        count: int, taken_sum: int = 0, taken_count: int = 0) -> None:
        """``count`` obligations with one outcome; ``taken_*``: the working days the completed ones took."""
        figures = self.figures[department]
        figures["obligations"] += count
        if status == COMPLETED:
            figures["on_time" if on_time else "late"] += count
            figures["taken_sum"] += int(taken_sum)
            figures["taken_count"] += taken_count
        elif counts_as_overdue(status, past_deadline):
            figures["overdue"] += count
        elif status == OPEN:
            figures["open"] += count

    def add_violation(self, department: str, rule: str, articles: Iterable[str]) -> None:
        self.by_rule[department][rule] += 1
        for article in articles:
            self.by_article[department][article] += 1

    def report(self, year: int, at: datetime, departments: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The report: registry departments (code, name) in order, then any other code seen, then the totals."""
        listed = list(departments)
        known = {code for code, _ in listed}
        extra = sorted((set(self.figures) | set(self.by_rule)) - known)
        rows = [evaluation_row(code, name, self.figures[code], self.by_rule[code], self.by_article[code])
                for code, name in [*listed, *((code, code) for code in extra)]]
        totals = evaluation_row("*", wording.TOTAL[0], sum(self.figures.values(), Counter()),
                                sum(self.by_rule.values(), Counter()), sum(self.by_article.values(), Counter()))
        return {"year": year, "as_of": at, "article": ARTICLE, "departments": rows, "totals": totals}


def evaluation_row(code: str, name: str, figures: Mapping[str, int], by_rule: Mapping[str, int],
                   by_article: Mapping[str, int]) -> dict[str, Any]:
    """One department's figures; ``figures`` counts outcomes plus ``taken_sum``/``taken_count`` (working days)."""
    judged = figures.get("on_time", 0) + figures.get("late", 0) + figures.get("overdue", 0)
    taken_count = figures.get("taken_count", 0)
    return {
        "department": code,
        "name": name,
        "obligations": figures.get("obligations", 0),
        "on_time": figures.get("on_time", 0),
        "late": figures.get("late", 0),
        "open": figures.get("open", 0),
        "overdue": figures.get("overdue", 0),
        "on_time_rate": round(figures.get("on_time", 0) / judged, 4) if judged else None,
        "violations": sum(by_rule.values()),
        "violations_by_rule": dict(sorted(by_rule.items())),
        "violations_by_article": dict(sorted(by_article.items())),
        "average_working_days_taken": (round(figures.get("taken_sum", 0) / taken_count, 2) if taken_count else None),
    }
