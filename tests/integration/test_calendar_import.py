"""``calendar import``: real notice texts reproduce config/calendars/<year>.yaml day by day.

The texts in tests/data/notices/ were transcribed from the published notices (each file's
header says from which, and where it was compared). Reading one must give the data file's
document number and date, the same make-up working days, the same rest days under the same
holiday names, and the same working status on every day. The data files (taken from
chinese_calendar) sometimes leave out a weekend day inside a block ("a weekend day inside a
block may be left out: it is a rest day anyway"); the text names it: those are the only extra
days allowed, and they are checked to be weekend days. Holidays a later document changed
(the file's ``amendments``) are left aside: the base notice does not say what the amendment did.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

import calendars
from calendars.notice_text import parse_notice_text, render_notice_yaml
from calendars.sources import DEFAULT_CALENDAR_DIR, load_notice, load_shared

REPO = Path(__file__).resolve().parents[2]
NOTICES = REPO / "tests" / "data" / "notices"
YEARS = sorted(int(p.stem) for p in NOTICES.glob("[0-9][0-9][0-9][0-9].txt"))
# Years whose text gives exactly the data file's lists (no weekend day left out there, no amendment).
EXACT = {2007, 2008, 2023, 2025, 2026}
OLD_WORDING = {2007, 2008}  # “其中…为法定节假日…调至…”, “五一”/“十一”, Chinese-numeral signature dates


@pytest.fixture(scope="module")
def shared():
    return load_shared(DEFAULT_CALENDAR_DIR)


def text_of(year: int) -> str:
    return (NOTICES / f"{year}.txt").read_text(encoding="utf-8")


def test_the_texts_span_old_and_new_wording():
    assert len(YEARS) >= 6 and set(YEARS) >= {2008, 2011, 2015, 2019, 2020, 2024, 2025, 2026}
    assert OLD_WORDING <= set(YEARS)
    for year in YEARS:
        header = [line for line in text_of(year).splitlines() if line.startswith("#")]
        assert any("Transcribed" in line for line in header), year
        assert any(f"{year}年部分节假日安排的通知" in line for line in header), year


@pytest.mark.parametrize("year", YEARS)
def test_a_real_notice_text_reproduces_its_data_file_day_by_day(year, shared, tmp_path):
    parsed = parse_notice_text(text_of(year), year, shared)
    recorded = load_notice(DEFAULT_CALENDAR_DIR / f"{year}.yaml", year, shared.holiday_names)
    assert (parsed.title, parsed.document_number, parsed.issued) == (
        recorded.title, recorded.document_number, recorded.issued)
    amended = {h for a in recorded.amendments for h in a.holidays}
    mine_rest = {d: h for d, h in parsed.rest_days.items() if h not in amended}
    theirs_rest = {d: h for d, h in recorded.rest_days.items() if h not in amended}
    mine_work = {d: h for d, h in parsed.make_up_days.items() if h not in amended}
    theirs_work = {d: h for d, h in recorded.make_up_days.items() if h not in amended}
    assert mine_work == theirs_work
    assert {d: mine_rest.get(d) for d in theirs_rest} == theirs_rest
    extra = sorted(set(mine_rest) - set(theirs_rest))
    assert all(d.weekday() >= 5 for d in extra), extra
    if year in EXACT:
        assert (parsed.rest_days, parsed.make_up_days) == (recorded.rest_days, recorded.make_up_days)

    # The written file, in place of the recorded one, gives the same calendar on every day of the year
    # (and of the December before), but on the days of amended holidays.
    directory = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, directory)
    (directory / f"{year}.yaml").write_text(render_notice_yaml(parsed), encoding="utf-8")
    ours, theirs = calendars.load_calendar(directory), calendars.load_calendar()
    amended_days = {d for d, h in (*recorded.rest_days.items(), *recorded.make_up_days.items(),
                                   *parsed.rest_days.items(), *parsed.make_up_days.items()) if h in amended}
    day, differing = max(date(year - 1, 12, 1), ours.first_day), []
    while day <= date(year, 12, 31):
        if day not in amended_days and ours.is_working_day(day) != theirs.is_working_day(day):
            differing.append(day)
        day += timedelta(days=1)
    assert differing == []
    assert ours.notices[year].document_number == recorded.document_number


def test_amended_holidays_are_the_only_ones_left_aside():
    amended = {}
    for year in YEARS:
        notice = calendars.load_calendar().notices[year]
        if notice.amendments:
            amended[year] = sorted(h for a in notice.amendments for h in a.holidays)
    assert amended == {2015: ["中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"], 2019: ["劳动节"], 2020: ["春节"]}


# ----- the command --------------------------------------------------------------------------------


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CALENDAR_DIR", "TRACKER_JURISDICTION")}
    return subprocess.run([sys.executable, "-m", "cli.main", "calendar", *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=60, env={**environ, **(env or {})})


@pytest.fixture
def calendar_dir(tmp_path: Path) -> Path:
    target = tmp_path / "calendars"
    shutil.copytree(DEFAULT_CALENDAR_DIR, target)
    return target


def test_import_writes_the_year_file_that_the_calendar_then_loads(calendar_dir, shared):
    (calendar_dir / "2026.yaml").unlink()
    result = run("--calendar-dir", str(calendar_dir), "import", "--year", "2026", str(NOTICES / "2026.txt"),
                 "--url", "https://www.gov.cn/zhengce/content/202511/content_7048922.htm")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "2026.yaml" in result.stderr
    written = calendar_dir / "2026.yaml"
    assert written.read_text(encoding="utf-8") == render_notice_yaml(
        parse_notice_text(text_of(2026), 2026, shared), "https://www.gov.cn/zhengce/content/202511/content_7048922.htm")
    cal = calendars.load_calendar(calendar_dir)
    assert not cal.is_provisional(2026) and cal.notices[2026].url.startswith("https://www.gov.cn/")
    # An existing file is kept unless --replace says otherwise.
    again = run("--calendar-dir", str(calendar_dir), "import", "--year", "2026", str(NOTICES / "2026.txt"))
    assert again.returncode == 2 and "exists; use --replace" in again.stderr
    replaced = run("--calendar-dir", str(calendar_dir), "import", "--year", "2026", "--replace",
                   str(NOTICES / "2026.txt"))
    assert replaced.returncode == 0, replaced.stderr
    assert "url:" not in written.read_text(encoding="utf-8")


def test_import_reads_standard_input_and_writes_elsewhere(calendar_dir, tmp_path):
    out = tmp_path / "elsewhere.yaml"
    result = run("--calendar-dir", str(calendar_dir), "import", "--year", "2008", "-", "--output", str(out),
                 stdin=text_of(2008))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "document_number: 国办发明电〔2007〕52号" in text
    assert "  元旦: [2007-12-30, 2007-12-31, 2008-01-01]" in text and "  元旦: [2007-12-29]" in text


def test_import_refuses_naming_the_sentence_and_writes_nothing(calendar_dir):
    (calendar_dir / "2026.yaml").unlink()
    bad = text_of(2026).replace("10月10日（周六）上班", "10月10日（周日）上班")
    result = run("--calendar-dir", str(calendar_dir), "import", "--year", "2026", "-", stdin=bad)
    assert result.returncode == 2
    assert "“9月20日（周日）、10月10日（周日）上班。”" in result.stderr and "not 周日" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (calendar_dir / "2026.yaml").exists()
    missing = run("--calendar-dir", str(calendar_dir), "import", "--year", "2026", str(calendar_dir / "nope.txt"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    year = run("--calendar-dir", str(calendar_dir), "import", "--year", "27", str(NOTICES / "2026.txt"))
    assert year.returncode == 2 and "is not a year" in year.stderr


def test_import_warns_when_a_notice_reaches_back_before_the_window(calendar_dir):
    text = "\n".join(["国办发明电〔2026〕99号",
                      "一、元旦：2026年12月24日（周四）至2027年1月3日（周日）放假调休，共11天。",
                      "国务院办公厅", "2026年12月1日"])
    result = run("--calendar-dir", str(calendar_dir), "import", "--year", "2027", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert "warning: 2026-12-24 is before the year-end window" in result.stderr
    assert (calendar_dir / "2027.yaml").exists()


def test_dry_run_prints_the_file_and_the_open_deadlines_it_would_move(calendar_dir, database_url, tmp_path):
    from config.bootstrap import build_tracker
    from config.settings import Settings
    from models.clock import ManualClock
    from models.sql.engine import create_engine
    from models.sql.migrate import upgrade
    from tests.fakes import accepted_at, regulation_changed, shanghai

    engine = create_engine(database_url)
    upgrade(engine)
    calendar = calendars.LiveCalendar(calendar_dir, "yuhua")
    tracker = build_tracker(Settings.from_env({}, database_url=database_url), ManualClock(shanghai(2026, 12, 10, 9)),
                            engine, calendar=calendar)
    # 15 working days from 10 December 2026: due 31 December, across the open year-end window;
    # from 1 December: due 22 December, before it.
    tracker.apply_batch([accepted_at("t", 0, 0, regulation_changed("evt-across", "2026-12-10", ["jyj"])),
                         accepted_at("t", 0, 1, regulation_changed("evt-before", "2026-12-01", ["mzj"]))])
    engine.dispose()
    result = run("--calendar-dir", str(calendar_dir), "import", "--year", "2027", "--dry-run",
                 str(NOTICES / "made_up_2027.txt"), env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕99号）.")
    assert "  元旦: [2026-12-26]" in out
    assert "# open obligations whose deadline this notice changes: 1 of 2" in out
    moved = [line for line in out.splitlines() if line.startswith("#   ")]
    assert len(moved) == 1 and " jyj " in moved[0]
    assert "截止 2026-12-31（暂定） -> 2026-12-30" in moved[0]  # the made-up notice works Saturday 26 December
    assert not (calendar_dir / "2027.yaml").exists()
