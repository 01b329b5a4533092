"""Maintained counts: what the totals, the department summary and the evaluation read instead of counting rows.

``obligation_counts`` holds, per department x year of the start day x kind x status x on_time, how many
obligations there are and the working days the completed ones took; ``violation_counts`` per department x
year of the event day x rule, ``violation_article_counts`` per department x year x article cited.

The repository (``models.sql.repository.SqlRepository``) gathers the changes of a unit of work in a
``CountChanges`` (+1 for an obligation inserted, -1/+1 when a save moves it from one key to another, +1 for a
violation inserted) and ``apply``s them as the last statements before the commit, so a count is never off by
one: a rolled-back unit (a crash, a replayed batch, a concurrent update retried) leaves no trace in them.

Locking (PostgreSQL): the rows are upserted in one sorted order, after every obligation row the unit touches,
so two transactions never wait for each other's count rows in a cycle; a batch's rows are those of its
departments, which it already holds the advisory lock of (``lock_departments``), so batches of different
departments never wait for one another on them.

``rebuild_counts`` recomputes every count from the stored rows (the migration fills the tables with it);
``computed_counts`` and ``stored_counts`` let a test compare the two.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import lru_cache
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models.sql import tables as t

NOT_JUDGED = -1  # on_time of an obligation not completed (None in the obligation)

ObligationKey = tuple[str, int, str, str, int]  # department, year, kind, status, on_time code


def on_time_code(on_time: bool | None) -> int:
    return NOT_JUDGED if on_time is None else int(bool(on_time))


def on_time_value(code: int) -> bool | None:
    return None if code == NOT_JUDGED else bool(code)


def obligation_key(department: str, start_day: date, kind: str, status: str, on_time: bool | None) -> ObligationKey:
    return department, start_day.year, kind, status, on_time_code(on_time)


class CountChanges:
    """The count deltas of one unit of work, applied once at its end (``apply``)."""

    def __init__(self) -> None:
        self.obligations: dict[ObligationKey, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.violations: dict[tuple[str, int, str], int] = defaultdict(int)
        self.articles: dict[tuple[str, int, str], int] = defaultdict(int)

    def obligation(self, key: ObligationKey, taken: int | None, sign: int) -> None:
        figures = self.obligations[key]
        figures[0] += sign
        if taken is not None:
            figures[1] += sign * taken
            figures[2] += sign

    def violation(self, department: str, event_day: date, rule: str, articles: Iterable[str]) -> None:
        self.violations[(department, event_day.year, rule)] += 1
        for article in articles:
            self.articles[(department, event_day.year, article)] += 1

    def apply(self, conn: Connection) -> None:
        """Upsert every non-zero delta, in sorted key order (see the module's note on locking)."""
        obligation_rows = [{"department": k[0], "year": k[1], "kind": k[2], "status": k[3], "on_time": k[4],
                            "n": v[0], "taken_sum": v[1], "taken_count": v[2]}
                           for k, v in sorted(self.obligations.items()) if any(v)]
        if obligation_rows:
            conn.execute(upsert_adding(conn.dialect.name, "obligation_counts"), obligation_rows)
        for name, deltas, column in (("violation_counts", self.violations, "rule"),
                                     ("violation_article_counts", self.articles, "article")):
            rows = [{"department": k[0], "year": k[1], column: k[2], "n": n} for k, n in sorted(deltas.items()) if n]
            if rows:
                conn.execute(upsert_adding(conn.dialect.name, name), rows)
        self.__init__()


@lru_cache(maxsize=8)
def upsert_adding(dialect_name: str, table_name: str):
    """INSERT of count rows that, where the key exists, adds each non-key value to the stored one."""
    table = t.metadata.tables[table_name]
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table)
    added = {c.name: c + statement.excluded[c.name] for c in table.columns if not c.primary_key}
    return statement.on_conflict_do_update(index_elements=[c.name for c in table.primary_key.columns], set_=added)


# ------------------------------------------------------------------ recomputed from the stored rows

def computed_counts(conn) -> dict[str, dict[tuple, tuple]]:
    """Every count as the stored obligations and violations give it (non-zero ones only)."""
    o = t.obligations.c
    year = sa.extract("year", o.start_day)
    obligations = {}
    for row in conn.execute(sa.select(o.department, year, o.kind, o.status, o.on_time, sa.func.count(),
                                      sa.func.coalesce(sa.func.sum(o.working_days_taken), 0),
                                      sa.func.count(o.working_days_taken))
                            .group_by(o.department, year, o.kind, o.status, o.on_time)):
        key = (row[0], int(row[1]), row[2], row[3], on_time_code(row[4]))
        obligations[key] = (int(row[5]), int(row[6]), int(row[7]))
    v = t.violations.c
    violations: dict[tuple, int] = defaultdict(int)
    articles: dict[tuple, int] = defaultdict(int)
    for row in conn.execute(sa.select(v.department, v.event_day, v.rule, v.articles)):
        violations[(row[0], row[1].year, row[2])] += 1
        for article in row[3]:
            articles[(row[0], row[1].year, article)] += 1
    return {"obligation_counts": obligations,
            "violation_counts": {k: (n,) for k, n in violations.items()},
            "violation_article_counts": {k: (n,) for k, n in articles.items()}}


def stored_counts(conn) -> dict[str, dict[tuple, tuple]]:
    """The maintained counts (non-zero ones only), keyed like ``computed_counts``."""
    result: dict[str, dict[tuple, tuple]] = {}
    for table in (t.obligation_counts, t.violation_counts, t.violation_article_counts):
        keys = list(table.primary_key.columns)
        values = [c for c in table.columns if not c.primary_key]
        result[table.name] = {tuple(row[:len(keys)]): tuple(int(x) for x in row[len(keys):])
                              for row in conn.execute(sa.select(*keys, *values)) if any(row[len(keys):])}
    return result


def rebuild_counts(conn) -> None:
    """Replace the maintained counts with ``computed_counts`` (the migration; a repair after manual edits)."""
    computed = computed_counts(conn)
    for table in (t.obligation_counts, t.violation_counts, t.violation_article_counts):
        conn.execute(sa.delete(table))
        names = [c.name for c in table.columns]
        rows: list[dict[str, Any]] = [dict(zip(names, (*key, *values))) for key, values in
                                      sorted(computed[table.name].items())]
        for start in range(0, len(rows), 1000):
            conn.execute(sa.insert(table), rows[start:start + 1000])
