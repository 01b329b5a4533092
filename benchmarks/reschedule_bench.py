"""Reschedule benchmark: the work after a notice changes follows the obligations whose deadline can move.

1. Inserts N open obligations (default 1,000,000) into a fresh database with the real schema (Alembic), by a
   bulk INSERT through SQLAlchemy Core — not through the ingest path: this benchmark measures the reschedule,
   and the rows are what the ingest would have stored (deadlines from the real calendar, start days spread
   over 2026-09-01..2026-11-30, 15 working days, departments of the registry).
2. In a fresh process (so that its peak RSS is the reschedule's, not the insert's), with the calendar files
   copied to a temporary directory, through the real ``Tracker`` and ``calendars.LiveCalendar``:
   - records the calendar the obligations agree with (a reload of the same files: a job with no changed day);
   - a no-op: the worker's catch-up (``reschedule_for_calendar()``, the stored calendar against the live one)
     and a reload of unchanged files (``reschedule_for_calendar(before, after)``);
   - a changed notice: 2026.yaml gains one rest day (2026-11-16, a Monday) inside ~20 % of the counting
     intervals; the reload and ``reschedule_for_calendar(before, after)`` move them.
   Each prints its time, the obligations examined and moved, and the peak RSS before and after
   (``resource.getrusage``: the process's high-water mark) and the current RSS after.

    python benchmarks/reschedule_bench.py --obligations 1000000 [--postgres] [--page-size 2000]

PostgreSQL: a database ``reschedule_bench`` on 127.0.0.1:5432 (user postgres) is dropped and created.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NEW_REST_DAY = "2026-11-16"
FIRST_START = date(2026, 9, 1)
START_DAYS = 91
WORKING_DAYS = 15
POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"


def rss_mb() -> tuple[float, float]:
    """(peak RSS, current RSS) of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    return peak, current


def fresh_database(postgres: bool, directory: Path) -> str:
    if not postgres:
        return f"sqlite:///{directory / 'reschedule.db'}"
    import sqlalchemy as sa

    server = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS reschedule_bench")
        conn.exec_driver_sql("CREATE DATABASE reschedule_bench")
    server.dispose()
    return f"{POSTGRES_SERVER}/reschedule_bench"


def insert_obligations(url: str, n: int) -> float:
    """N open obligations by bulk insert (Core executemany in chunks); seconds taken."""
    from calendars import load_calendar
    from models.clock import SHANGHAI
    from models.departments import load_registry
    from models.obligations import Obligation
    from models.reminders import next_reminder_at
    from models.sql import tables as t
    from models.sql.engine import create_engine
    from models.sql.migrate import upgrade
    from models.sql.repository import obligation_to_row

    started = time.perf_counter()
    engine = create_engine(url)
    upgrade(engine)
    calendar = load_calendar(jurisdiction="yuhua")
    departments = [d.code for d in load_registry(REPO / "config" / "departments.yaml")]
    opened = datetime(2026, 9, 1, 9, tzinfo=SHANGHAI)
    templates = []
    for day in range(START_DAYS):
        start = FIRST_START + timedelta(days=day)
        deadline = calendar.deadline(start, WORKING_DAYS)
        template = Obligation(
            id="", kind="catalog-update", department="", trigger_source="/yuhua/legal-affairs",
            trigger_event_id="", trigger_type="gov.regulation.changed", trigger_summary="法律法规修订《基准条例》",
            subject_ref=None, start_day=start, working_days=WORKING_DAYS, due_date=deadline.due_date,
            due_end=deadline.end, provisional=deadline.provisional, policy_id="yuhua-2023", policy_version="1",
            article="第十条", overdue_citations=("第二十五条（八）",), reminder_stages=(5, 3, 1, 0),
            reminder_time="09:00", opened_at=opened)
        template.next_reminder_at = next_reminder_at(template, calendar)
        templates.append(obligation_to_row(template))
    chunk = []
    with engine.begin() as conn:
        for i in range(n):
            row = dict(templates[i % START_DAYS])
            row.update(id=f"ob-{i:08d}", department=departments[i % len(departments)], trigger_event_id=f"reg-{i}")
            chunk.append(row)
            if len(chunk) == 10_000:
                conn.execute(t.obligations.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(t.obligations.insert(), chunk)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE obligations")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def reschedule_phase(url: str, page_size: int) -> None:
    """In its own process: the timed reschedules, each with its figures."""
    from calendars import LiveCalendar
    from config.bootstrap import build_tracker
    from config.settings import Settings
    from models.clock import ManualClock
    from tests.fakes import shanghai

    directory = Path(tempfile.mkdtemp(prefix="reschedule-bench-"))
    calendar_dir = directory / "calendars"
    shutil.copytree(REPO / "config" / "calendars", calendar_dir)
    calendar = LiveCalendar(calendar_dir, "yuhua")
    settings = Settings.from_env({}, database_url=url)
    from models.sql.engine import create_engine

    engine = create_engine(url)
    tracker = build_tracker(settings, ManualClock(shanghai(2026, 11, 2, 10)), engine, calendar=calendar)
    tracker.reschedule_page_size = page_size
    pages_seen = []

    def run(label: str, work) -> None:
        peak_before, _ = rss_mb()
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        peak_after, current = rss_mb()
        print(f"{label:<44} {seconds:9.3f} s  examined {result.examined:>9,}  moved {result.moved:>9,}  "
              f"pages {result.pages:>4}  changed days {result.changed_days}  "
              f"peak RSS {peak_before:7.1f} -> {peak_after:7.1f} MB (+{peak_after - peak_before:.1f})  "
              f"RSS now {current:7.1f} MB", flush=True)

    def reload_and_reschedule():
        before, after = calendar.reload()
        return tracker.reschedule_for_calendar(before, after, progress=pages_seen.append)

    run("record the calendar (reload, same files)", reload_and_reschedule)
    run("no change: worker catch-up (stored vs live)", lambda: tracker.reschedule_for_calendar())
    run("no change: reload of the same files", reload_and_reschedule)
    notice = calendar_dir / "2026.yaml"
    text = notice.read_text(encoding="utf-8")
    notice.write_text(text.replace("  国庆节: [2026-10-01,", f"  国庆节: [{NEW_REST_DAY}, 2026-10-01,", 1),
                      encoding="utf-8")
    pages_seen.clear()
    run(f"notice adds a rest day {NEW_REST_DAY}: reload", reload_and_reschedule)
    print(f"  progress callbacks: {len(pages_seen)} (one per page)", flush=True)
    run("the same change again (nothing left to move)", lambda: tracker.reschedule_for_calendar())
    engine.dispose()
    shutil.rmtree(directory, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--phase", choices=["reschedule"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "reschedule":
        reschedule_phase(args.url, args.page_size)
        return 0
    with tempfile.TemporaryDirectory(prefix="reschedule-bench-db-") as tmp:
        url = fresh_database(args.postgres, Path(tmp))
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"reschedule benchmark: {args.obligations:,} open obligations on {backend}, "
              f"pages of {args.page_size:,}", flush=True)
        seconds = insert_obligations(url, args.obligations)
        print(f"inserted {args.obligations:,} open obligations (bulk Core insert) in {seconds:.1f} s", flush=True)
        done = subprocess.run([sys.executable, __file__, "--phase", "reschedule", "--url", url,
                               "--page-size", str(args.page_size)], cwd=REPO)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
