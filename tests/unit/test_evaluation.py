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



def test_periods_of_data_and_opening_duties_have_figures_of_their_own():
    from models.evaluation import Tally

    tally = Tally()
    add = tally.add_obligations
    add("tjj", kind="data-aggregation", status="completed", on_time=True, past_deadline=True, count=10)
    add("tjj", kind="data-aggregation", status="completed", on_time=False, past_deadline=True, count=2)
    add("tjj", kind="data-aggregation", status="overdue", on_time=None, past_deadline=True, count=1)
    add("tjj", kind="data-aggregation", status="open", on_time=None, past_deadline=True, count=1)  # no tick yet
    add("tjj", kind="data-aggregation", status="open", on_time=None, past_deadline=False, count=1)
    add("tjj", kind="data-aggregation", status="cancelled", on_time=None, past_deadline=False, count=4)
    add("tjj", kind="data-opening", status="completed", on_time=True, past_deadline=True, count=1, taken_sum=3,
        taken_count=1)
    add("tjj", kind="data-opening", status="overdue", on_time=None, past_deadline=True, count=1)
    add("tjj", kind="catalog-update", status="completed", on_time=False, past_deadline=True, count=1, taken_sum=20,
        taken_count=1)
    tally.add_catalog_size("tjj", 7)
    tally.add_violation("tjj", "unauthorised-channel", ["第十四条", "第二十五条（七）"])
    tally.add_violation("tjj", "overdue", ["第二十五条（二）"])
    report = tally.report(2026, year_end(2026), [("tjj", "区统计局")])
    row, = report["departments"]
    assert (row["catalog_size"], row["periods_owed"], row["periods_on_time"], row["periods_late"],
            row["periods_missed"], row["periods_pending"]) == (7, 15, 10, 2, 2, 1)
    assert (row["opening_obligations"], row["opening_on_time"], row["opening_late"], row["opening_overdue"]) == (
        2, 1, 0, 1)
    assert row["channel_violations"] == 1
    # the periods stay out of the headline figures; the opening duties and the 第十条 update are in them
    assert (row["obligations"], row["on_time"], row["late"], row["overdue"], row["on_time_rate"]) == (
        3, 1, 1, 1, round(1 / 3, 4))
    assert report["totals"]["periods_owed"] == 15 and report["totals"]["catalog_size"] == 7


def test_a_department_with_only_cancelled_obligations_is_not_listed_as_extra():
    from models.evaluation import Tally

    tally = Tally()
    tally.add_obligations("gone", kind="data-aggregation", status="cancelled", on_time=None, past_deadline=False,
                          count=3)
    assert [r["department"] for r in tally.report(2026, year_end(2026), [("tjj", "区统计局")])["departments"]] == [
        "tjj"]


def test_terminal_report_has_the_catalog_table_and_csv_its_columns(tmp_path):
    text = render(report())
    assert "目录台账、数据归集与开放" in text and "应归集期数" in text and "渠道违规" in text
    header, _ = csv_rows(report())
    assert {"catalog_size", "periods_owed", "periods_missed", "opening_on_time", "channel_violations"} <= set(header)
