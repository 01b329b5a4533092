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
