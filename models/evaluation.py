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
from models.obligations import CANCELLED, COMPLETED, OPEN, counts_as_overdue
from models.policy import DATA_AGGREGATION, DATA_OPENING, UNAUTHORISED_CHANNEL

ARTICLE = "第二十四条"


def year_end(year: int) -> datetime:
    """24:00 of 31 December of ``year``, Asia/Shanghai."""
    return datetime.combine(date(year + 1, 1, 1), time(0), tzinfo=SHANGHAI)


def as_of(year: int, now: datetime | None) -> datetime:
    """The instant a year is judged at: now while it runs, its end once it is over (a past year never changes)."""
    return min(now, year_end(year)) if now is not None else year_end(year)


OUTCOMES = ("on_time", "late", "overdue", "open")


def outcome(status: str, on_time: bool | None, past_deadline: bool) -> str | None:
    """What one obligation counts as in the evaluation: on_time, late, overdue, open; None (cancelled) counts as none."""
    if status == COMPLETED:
        return "on_time" if on_time else "late"
    if counts_as_overdue(status, past_deadline):
        return "overdue"
    if status == OPEN:
        return "open"
    return None


class Tally:
    """Obligation outcomes and violations per department, fed group by group."""

    def __init__(self) -> None:
        self.figures: dict[str, Counter] = defaultdict(Counter)
        self.by_rule: dict[str, Counter] = defaultdict(Counter)
        self.by_article: dict[str, Counter] = defaultdict(Counter)

    def add_obligations(self, department: str, *, status: str, on_time: bool | None, past_deadline: bool,
                        count: int, taken_sum: int = 0, taken_count: int = 0, kind: str | None = None) -> None:
        """``count`` obligations with one outcome; ``taken_*``: the working days the completed ones took.

        Cancelled obligations are not owed and count nowhere. The periods of data aggregation (第十二条) have
        figures of their own: a daily resource owes some 250 a year, which would drown the other duties.
        """
        if status == CANCELLED:
            return
        figures = self.figures[department]
        if kind == DATA_AGGREGATION:
            figures["periods_owed"] += count
            if status == COMPLETED:
                figures["periods_on_time" if on_time else "periods_late"] += count
            elif counts_as_overdue(status, past_deadline):
                figures["periods_missed"] += count
            else:
                figures["periods_pending"] += count
            return
        if kind == DATA_OPENING:
            figures["opening_obligations"] += count
            if status == COMPLETED:
                figures["opening_on_time" if on_time else "opening_late"] += count
            elif counts_as_overdue(status, past_deadline):
                figures["opening_overdue"] += count
        figures["obligations"] += count
        counted_as = outcome(status, on_time, past_deadline)
        if counted_as is not None:
            figures[counted_as] += count
        if status == COMPLETED:
            figures["taken_sum"] += int(taken_sum)
            figures["taken_count"] += taken_count

    def add_catalog_size(self, department: str, resources: int) -> None:
        """How many resources the department's register held at the evaluation's instant."""
        self.figures[department]["catalog_size"] += resources

    def add_violation(self, department: str, rule: str, articles: Iterable[str]) -> None:
        self.by_rule[department][rule] += 1
        for article in articles:
            self.by_article[department][article] += 1

    def add_violation_count(self, department: str, *, rule: str | None = None, article: str | None = None,
                            count: int) -> None:
        """``count`` violations of ``rule``, or ``count`` citations of ``article`` (maintained counts)."""
        if rule is not None:
            self.by_rule[department][rule] += count
        if article is not None:
            self.by_article[department][article] += count

    def report(self, year: int, at: datetime, departments: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The report: registry departments (code, name) in order, then any other code seen, then the totals."""
        listed = list(departments)
        known = {code for code, _ in listed}
        seen = {code for code, figures in self.figures.items() if any(figures.values())} | set(self.by_rule)
        extra = sorted(seen - known)
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
        **{name: figures.get(name, 0) for name in CATALOG_FIGURES},
        "channel_violations": by_rule.get(UNAUTHORISED_CHANNEL, 0),
    }


# The catalog register's figures of a row (第八条, 第十二条, 第二十条), besides ``channel_violations``.
CATALOG_FIGURES = ("catalog_size", "periods_owed", "periods_on_time", "periods_late", "periods_missed",
                   "periods_pending", "opening_obligations", "opening_on_time", "opening_late", "opening_overdue")
# The columns of the catalog table (CLI, workbook), in the order of wording.CATALOG_EVALUATION_COLUMNS after name/code.
CATALOG_COLUMNS = (*CATALOG_FIGURES, "channel_violations")
