"""``catalog-tracker report evaluation YEAR`` on a stored history (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import json

import pytest

from calendars import load_calendar
from cli.main import main
from config.bootstrap import build_engine, build_tracker
from config.settings import Settings
from models.clock import ManualClock
from tests.fakes import accepted_at, catalog_updated, regulation_changed, shanghai


@pytest.fixture
def history(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    settings = Settings.from_env({}, database_url=database_url)
    engine = build_engine(settings)
    tracker = build_tracker(settings, ManualClock(shanghai(2025, 3, 3, 10)), engine, calendar=load_calendar())
    events = [regulation_changed("r-1", "2025-03-03", ["jyj", "mzj"]),
              catalog_updated("c-1", "jyj", "2025-03-05T10:00:00+08:00"),
              catalog_updated("c-2", "mzj", "2025-04-30T10:00:00+08:00")]
    tracker.apply_batch([accepted_at("t", 0, i, e) for i, e in enumerate(events)])
    engine.dispose()
    return database_url


def test_report_prints_a_table_and_writes_csv(history, tmp_path, capsys):
    target = tmp_path / "eval-2025.csv"
    assert main(["report", "evaluation", "2025", "--csv", str(target)]) == 0
    out = capsys.readouterr().out
    assert "2025 年度" in out and "第二十四条" in out
    jyj_line = next(line for line in out.splitlines() if line.startswith("区教育局"))
    assert "100.0%" in jyj_line
    with target.open(encoding="utf-8-sig") as handle:
        rows = {row["department"]: row for row in csv.DictReader(handle)}
    assert (rows["jyj"]["on_time"], rows["jyj"]["average_working_days_taken"]) == ("1", "2.0")
    assert (rows["mzj"]["late"], rows["mzj"]["on_time_rate"], rows["mzj"]["rule:overdue"]) == ("1", "0.0", "1")
    assert rows["mzj"]["article:第二十五条（八）"] == "1"
    assert rows["*"]["obligations"] == "2"


def test_report_json_matches_the_stored_history(history, capsys):
    assert main(["report", "evaluation", "2025", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["department"]: r for r in report["departments"]}
    assert rows["mzj"]["violations_by_article"] == {"第二十五条（一）": 1, "第二十五条（八）": 1}
    assert report["as_of"].endswith("+08:00")


def test_report_refuses_a_year_out_of_range(history, capsys):
    assert main(["report", "evaluation", "1999"]) == 2
    assert "out of range" in capsys.readouterr().err


# ------------------------------------------------------------------ --xlsx (the workbook)

@pytest.fixture
def year_2025(database_url, monkeypatch):
    """jyj on time, mzj late (a violation), czj overdue at the end of the year, zfb still open (due in 2026)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRACKER_CLOCK", "fixed:2026-02-01T10:00:00+08:00")
    settings = Settings.from_env({}, database_url=database_url)
    engine = build_engine(settings)
    tracker = build_tracker(settings, ManualClock(shanghai(2025, 3, 3, 10)), engine, calendar=load_calendar())
    events = [regulation_changed("r-1", "2025-03-03", ["jyj", "mzj"]),
              regulation_changed("r-2", "2025-06-03", ["czj"]),
              regulation_changed("r-3", "2025-12-29", ["zfb"]),
              catalog_updated("c-1", "jyj", "2025-03-05T10:00:00+08:00"),
              catalog_updated("c-2", "mzj", "2025-04-30T10:00:00+08:00")]
    tracker.apply_batch([accepted_at("t", 0, i, e) for i, e in enumerate(events)])
    engine.dispose()
    return database_url


def _workbook(path):
    from openpyxl import load_workbook

    return load_workbook(path)


def test_report_writes_an_excel_workbook(year_2025, tmp_path, capsys):
    from models import wording

    target = tmp_path / "out" / "eval-2025.xlsx"
    assert main(["report", "evaluation", "2025", "--xlsx", str(target)]) == 0
    assert f"Excel: {target}" in capsys.readouterr().out
    book = _workbook(target)
    assert book.sheetnames == [pair[0] for pair in wording.XLSX_SHEETS.values()]
    for sheet in book:
        title = sheet["A1"].value
        assert title.startswith("2025 年度") and "截至 2026-01-01 00:00" in title, title
        assert "适用政策：" in title and "yuhua-2021-measures-continuation 2023.1-continuation" in title
        assert sheet.freeze_panes == "A3"
        assert all(sheet.column_dimensions[cell.column_letter].width >= 6 for cell in sheet[2] if cell.value)

    figures = book[wording.XLSX_SHEETS["departments"][0]]
    headers = [cell.value for cell in figures[2]]
    assert headers[:9] == ["部门", "代码", "义务", "按时完成", "逾期完成", "未到期", "已逾期", "按时率", "违规"]
    assert headers[-1] == "平均用时（工作日）" and "违规：逾期" in headers
    rows = {row[1].value: row for row in figures.iter_rows(min_row=3)}
    rate = headers.index("按时率")
    assert rows["jyj"][rate].value == 1.0 and rows["jyj"][rate].number_format == "0.0%"
    assert rows["mzj"][rate].value == 0.0 and rows["czj"][rate].value == 0.0
    assert rows["zfb"][rate].value is None  # nothing judged yet: an empty cell, not 0 %
    assert [rows["czj"][headers.index(h)].value for h in ("已逾期", "违规")] == [1, 0]
    assert rows["zfb"][headers.index("未到期")].value == 1
    totals = figures.cell(figures.max_row, 1)
    assert totals.value == "合计" and totals.font.bold
    assert figures.cell(figures.max_row, rate + 1).value == pytest.approx(1 / 3, abs=1e-4)
    assert figures.column_dimensions["A"].width >= len("区人力资源和社会保障局") * 2  # the longest name fits

    articles = book[wording.XLSX_SHEETS["articles"][0]]
    header = [cell.value for cell in articles[2]]
    assert header == ["部门", "代码", "第二十五条（一）", "第二十五条（八）", "合计"]
    mzj = next(row for row in articles.iter_rows(min_row=3, values_only=True) if row[1] == "mzj")
    assert mzj[2:] == (1, 1, 2)

    counted = book[wording.XLSX_SHEETS["obligations"][0]]
    header = [cell.value for cell in counted[2]]
    assert header == [pair[0] for pair in wording.XLSX_COUNTED_COLUMNS.values()]
    listed = {row[1].value: row for row in counted.iter_rows(min_row=3)}
    assert set(listed) == {"jyj", "mzj", "czj", "zfb"}
    outcome, start, done = header.index("评价计为"), header.index("起算日"), header.index("完成时间")
    assert {code: row[outcome].value for code, row in listed.items()} == {
        "jyj": "按时完成", "mzj": "逾期完成", "czj": "已逾期", "zfb": "未到期"}
    assert listed["jyj"][start].value.date().isoformat() == "2025-03-03"
    assert listed["jyj"][start].number_format == "yyyy-mm-dd"
    assert listed["jyj"][done].value.isoformat() == "2025-03-05T10:00:00"  # Beijing time, as the title says
    assert listed["jyj"][done].number_format == "yyyy-mm-dd hh:mm"
    assert listed["czj"][done].value is None

    chart_sheet = book[wording.XLSX_SHEETS["chart"][0]]
    plotted = list(chart_sheet.iter_rows(min_row=3, values_only=True))
    assert plotted == [("区教育局", 1.0), ("区财政局", 0.0), ("区民政局", 0.0)]  # best first; zfb not judged
    assert chart_sheet["B3"].number_format == "0.0%"
    (chart,) = chart_sheet._charts
    assert chart.tagname == "barChart" and chart.type == "bar"
    (series,) = chart.series
    sheet_ref = f"'{chart_sheet.title}'"
    assert series.val.numRef.f == f"{sheet_ref}!$B$3:$B$5"
    assert series.cat.strRef.f == f"{sheet_ref}!$A$3:$A$5"


def test_the_counted_obligations_add_up_to_the_report(year_2025):
    from collections import Counter

    from sqlalchemy.orm import Session

    from config.bootstrap import build_registry
    from models.sql.queries import counted_obligations, evaluation

    settings = Settings.from_env({}, database_url=year_2025)
    engine = build_engine(settings)
    registry = build_registry(settings)
    try:
        with Session(engine) as session:
            report = evaluation(session, registry, 2025, now=shanghai(2026, 2, 1))
            counted = counted_obligations(session, registry, 2025, now=shanghai(2026, 2, 1))
    finally:
        engine.dispose()
    outcomes = Counter((row["department"], row["outcome"]) for row in counted)
    for row in report["departments"]:
        for outcome in ("on_time", "late", "open", "overdue"):
            assert outcomes[(row["department"], outcome)] == row[outcome], (row["department"], outcome)
    assert len(counted) == report["totals"]["obligations"] == 4
    assert [row["department"] for row in counted] == ["zfb", "jyj", "mzj", "czj"]  # the registry's order
    assert counted[0]["department_name"] == "区人民政府办公室"
