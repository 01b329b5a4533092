"""The yearly evaluation's arithmetic and its terminal/CSV forms (the SQL side is in tests/integration)."""
from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timezone

from cli.report import csv_rows, render, write_csv
from models.evaluation import evaluation_row, year_end
from tests.fakes import real_registry

REGISTRY = real_registry()


def row(code, **figures):
    taken = figures.pop("taken", [])
    by_rule = Counter(figures.pop("by_rule", {}))
    by_article = Counter(figures.pop("by_article", {}))
    return evaluation_row(code, REGISTRY.name_of(code), Counter(figures, taken_sum=sum(taken), taken_count=len(taken)),
                           by_rule, by_article)


def test_on_time_rate_counts_every_obligation_whose_deadline_is_settled():
    r = row("jyj", obligations=6, on_time=3, late=1, overdue=2, taken=[5, 10, 15, 20])
    assert r["on_time_rate"] == 0.5 and r["average_working_days_taken"] == 12.5
    assert r["name"] == "区教育局" and r["open"] == 0


def test_a_department_with_only_open_obligations_has_no_rate_yet():
    r = row("mzj", obligations=2, open=2)
    assert r["on_time_rate"] is None and r["average_working_days_taken"] is None


def test_year_end_is_midnight_shanghai():
    assert year_end(2025) == datetime(2025, 12, 31, 16, tzinfo=timezone.utc)


def report():
    departments = [row("jyj", obligations=2, on_time=1, overdue=1, by_rule={"overdue": 1},
                       by_article={"第二十五条（八）": 1, "第二十五条（一）": 1}, taken=[4]),
                   row("mzj", obligations=1, on_time=1, taken=[2])]
    totals = row("*", obligations=3, on_time=2, overdue=1, by_rule={"overdue": 1},
                 by_article={"第二十五条（八）": 1, "第二十五条（一）": 1}, taken=[4, 2])
    totals["name"] = "合计"
    return {"year": 2025, "as_of": year_end(2025), "departments": departments, "totals": totals}


def test_terminal_table_lines_up_and_shows_rates():
    text = render(report())
    lines = text.splitlines()
    assert lines[0].startswith("2025 年度") and "2026-01-01 00:00" in lines[0]
    jyj = next(line for line in lines if line.startswith("区教育局"))
    assert "50.0%" in jyj and "逾期×1" in jyj and "第二十五条（八）×1" in jyj
    assert any(line.startswith("合计") and "66.7%" in line for line in lines)


def test_csv_has_a_column_per_rule_and_per_article(tmp_path):
    header, body = csv_rows(report())
    assert {"rule:overdue", "rule:share-scope-narrowed", "rule:sensitive-data-opened",
            "article:第二十五条（八）", "article:第二十五条（一）"} <= set(header)
    path = tmp_path / "r.csv"
    write_csv(report(), path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["department"] for r in rows] == ["jyj", "mzj", "*"]
    assert rows[0]["on_time_rate"] == "0.5" and rows[0]["article:第二十五条（一）"] == "1"
    assert rows[1]["rule:overdue"] == "0" and len(body) == 3

