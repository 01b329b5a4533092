"""``catalog-tracker calendar`` run as a separate process, as supervisors run it."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import calendars
from calendars.sources import DEFAULT_CALENDAR_DIR

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CALENDAR_DIR", "TRACKER_JURISDICTION")}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "calendar", *args],
        cwd=REPO, input=stdin, capture_output=True, text=True, timeout=60, env={**environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def cal():
    return calendars.load_calendar()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_show_lists_rest_and_make_up_days_of_a_notice_year():
    result = run("show", "2026")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "国办发明电〔2025〕7号" in out
    # Only the year-end window waits for the 2027 notice; no day of the year itself is provisional.
    assert [line for line in out.splitlines() if "暂定" in line] == [
        "2026-12-26 至 2026-12-31：暂定 — 2027 年的国务院节假日安排尚未载入，往年的通知曾调整上一年年末的日期"]
    assert "暂定" not in run("show", "2025").stdout
    make_up = out.split("\n调休上班 [")[1]
    for day in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"):
        assert day in make_up, day
    assert "2026-10-01 星期四 国庆节" in out


def test_show_marks_a_provisional_year():
    result = run("show", "2027", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "2027: PROVISIONAL" in result.stdout


def test_explain_prints_the_deadline_and_the_days(cal):
    expected = cal.deadline(date(2026, 9, 25), 15)
    result = run("explain", "2026-09-25", "15")
    assert result.returncode == 0, result.stderr
    assert f"截止日：{expected.due_date.isoformat()}" in result.stdout
    assert expected.end.isoformat() in result.stdout
    assert "调休上班（国庆节）" in result.stdout and "国庆节" in result.stdout
    as_json = run("--jurisdiction", "", "explain", "2026-09-25", "15", "--json")
    data = json.loads(as_json.stdout)
    assert data == json.loads(json.dumps(cal.explain(date(2026, 9, 25), 15).to_dict(), ensure_ascii=False))


@pytest.mark.parametrize(
    "args, message",
    [
        (("explain", "2026-02-30", "3"), "start_date '2026-02-30' is not a date"),
        (("explain", "2026-09-25", "x"), "working_days 'x' is not a whole number"),
        (("explain", "2026-09-25", "-1"), "working_days -1 is negative"),
        (("explain", "2026-09-25", "1001"), "working_days 1001 is above 1000"),
        (("explain", "2031-01-02", "3"), "start_date 2031-01-02 is outside the supported range"),
        (("explain", "2030-12-20", "30"), "falls after 2030-12-31"),
        (("show", "20x6"), "year '20x6' is not a year"),
        (("show", "2040"), "year 2040 is outside the supported range"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_deadlines_adds_columns_and_passes_others_through(tmp_path, cal):
    cases = [
        ("2026-09-25", 15), ("2026-02-13", 2), ("2025-12-31", 1), ("2026-12-20", 10),
        ("2026-10-01", 0), ("2005-12-30", 1), ("2019-04-30", 5),
    ]
    rows = [["case", "start_date", "working_days", "note"]]
    rows += [[f"c{k}", s, str(n), f"note, {k}"] for k, (s, n) in enumerate(cases)]
    source = write_csv(tmp_path / "cases.csv", rows)
    output = tmp_path / "out.csv"
    result = run("deadlines", "--input", str(source), "--output", str(output))
    assert result.returncode == 0, result.stderr
    with output.open(encoding="utf-8", newline="") as handle:
        got = list(csv.DictReader(handle))
    assert list(got[0]) == ["case", "start_date", "working_days", "note", "deadline", "deadline_end", "provisional"]
    for k, ((start, n), row) in enumerate(zip(cases, got)):
        expected = cal.deadline(date.fromisoformat(start), n)
        assert row["case"] == f"c{k}" and row["note"] == f"note, {k}"
        assert row["deadline"] == expected.due_date.isoformat()
        assert row["deadline_end"] == expected.end.isoformat()
        assert row["provisional"] == ("true" if expected.provisional else "false")
    assert [r["provisional"] for r in got].count("true") == 1


def test_deadlines_to_stdout_from_stdin(cal):
    result = run("deadlines", "--input", "-", stdin="start_date,working_days\n2026-09-30,1\n")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows == [{"start_date": "2026-09-30", "working_days": "1", "deadline": "2026-10-08",
                     "deadline_end": "2026-10-09T00:00:00+08:00", "provisional": "false"}]


def test_a_bad_row_fails_the_run_before_any_output(tmp_path):
    source = write_csv(tmp_path / "cases.csv", [
        ["start_date", "working_days"], ["2026-09-25", "15"], ["2026-09-25", "1.5"], ["2026-09-26", "3"],
    ])
    output = tmp_path / "out.csv"
    result = run("deadlines", "--input", str(source), "--output", str(output))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"catalog-tracker calendar: {source} row 2 (line 3): working_days '1.5' is not a whole number"
    ]
    assert not output.exists()
    assert list(tmp_path.iterdir()) == [source]  # no temporary file left behind either
    to_stdout = run("deadlines", "--input", str(source))
    assert to_stdout.returncode == 2 and to_stdout.stdout == ""


def test_skip_invalid_reports_each_skipped_row(tmp_path, cal):
    source = write_csv(tmp_path / "cases.csv", [
        ["start_date", "working_days"], ["2026-09-25", "15"], ["20260925", "3"], ["2026-09-25", "-2"],
        ["1999-01-01", "3"], ["2026-10-09", "1"],
    ])
    output = tmp_path / "out.csv"
    result = run("deadlines", "--input", str(source), "--output", str(output), "--skip-invalid")
    assert result.returncode == 0, result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 4
    assert "row 2 (line 3): start_date '20260925' is not a date" in errors[0]
    assert "row 3 (line 4): working_days -2 is negative" in errors[1]
    assert "row 4 (line 5): start_date 1999-01-01 is outside the supported range" in errors[2]
    assert "2 rows written, 3 skipped" in errors[3]
    with output.open(encoding="utf-8", newline="") as handle:
        got = list(csv.DictReader(handle))
    assert [r["start_date"] for r in got] == ["2026-09-25", "2026-10-09"]
    assert got[1]["deadline"] == cal.add_working_days(date(2026, 10, 9), 1).isoformat() == "2026-10-10"


def test_missing_column_and_missing_file_exit_2(tmp_path):
    source = write_csv(tmp_path / "cases.csv", [["start", "working_days"], ["2026-09-25", "1"]])
    result = run("deadlines", "--input", str(source))
    assert result.returncode == 2 and "missing column start_date" in result.stderr
    missing = run("deadlines", "--input", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr


def test_jurisdiction_and_calendar_dir_options(tmp_path):
    directory = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, directory)
    (directory / "local" / "testdistrict.yaml").write_text(
        "jurisdiction: testdistrict\nadjustments:\n  - date: 2026-03-10\n    status: rest\n    reason_zh: 区内停电\n",
        encoding="utf-8",
    )
    result = run("--calendar-dir", str(directory), "--jurisdiction", "testdistrict", "explain", "2026-03-09", "1")
    assert result.returncode == 0, result.stderr
    assert "截止日：2026-03-11" in result.stdout and "区内停电" in result.stdout
    bad = run("--calendar-dir", str(directory), "--jurisdiction", "elsewhere", "show", "2026")
    assert bad.returncode == 2 and "elsewhere.yaml" in bad.stderr
    # Without options the command uses the worker's settings (TRACKER_CALENDAR_DIR, TRACKER_JURISDICTION).
    from_settings = run("explain", "2026-03-09", "1", env={"TRACKER_CALENDAR_DIR": str(directory), "TRACKER_JURISDICTION": "testdistrict"})
    assert from_settings.returncode == 0 and "截止日：2026-03-11" in from_settings.stdout
    national = run("--jurisdiction", "", "explain", "2026-03-09", "1", env={"TRACKER_CALENDAR_DIR": str(directory), "TRACKER_JURISDICTION": "testdistrict"})
    assert national.returncode == 0 and "截止日：2026-03-10" in national.stdout


def test_importing_the_command_module_stays_lean():
    """CLI discovery imports every cli module; this one must not pull in the calendar or holidays."""
    code = "import sys, cli.calendar; print(sorted(m for m in ('calendars', 'holidays', 'yaml') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unreadable_input_and_unwritable_output_exit_2_without_traceback(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"start_date,working_days,note\n2026-09-25,1,caf\xe9\n")
    result = run("deadlines", "--input", str(latin))
    assert result.returncode == 2 and "not UTF-8 text" in result.stderr and "Traceback" not in result.stderr
    good = write_csv(tmp_path / "good.csv", [["start_date", "working_days"], ["2026-09-25", "1"]])
    target = tmp_path / "no-such-dir" / "out.csv"
    result = run("deadlines", "--input", str(good), "--output", str(target))
    assert result.returncode == 2 and f"cannot write {target}" in result.stderr and "Traceback" not in result.stderr
