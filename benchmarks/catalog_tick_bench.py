"""Catalog tick benchmark: the scheduler's period work follows the entries whose period begins, not the register.

1. Registers R resources (default 20,000) in SQLite through the real Tracker: all yearly except D weekly ones
   (default 100), so at the next Monday only D periods begin.
2. Times ticks (median of five): on days where nothing begins (the register is large, nothing is due), and on
   five Mondays (D periods open each); then the same with a register ten times smaller, to show the time follows
   D, not R.
3. Prints the query plan of the due-periods query (it uses ix_catalog_resources_next_period).

    python benchmarks/catalog_tick_bench.py [--resources 20000] [--due 100]
"""
from __future__ import annotations

import argparse
import sys
from statistics import median
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from calendars import load_calendar  # noqa: E402
from config.bootstrap import build_engine, build_tracker  # noqa: E402
from config.settings import Settings  # noqa: E402
from models.clock import SHANGHAI, ManualClock  # noqa: E402
from tests.fakes import accepted_at, catalog_updated  # noqa: E402

START = datetime(2026, 3, 4, 10, tzinfo=SHANGHAI)  # a Wednesday: the weekly ones owe from Monday 9 March
MONDAYS = [datetime(2026, 3, 9, 0, 0, 1, tzinfo=SHANGHAI) + timedelta(weeks=week) for week in range(5)]
QUIET = [datetime(2026, 3, 5 + day, 12, tzinfo=SHANGHAI) for day in range(3)] + \
        [datetime(2026, 4, 7, hour, tzinfo=SHANGHAI) for hour in (1, 2)]


def registered_tracker(directory: Path, resources: int, due: int):
    settings = Settings.from_env({}, database_url=f"sqlite:///{directory / f'bench-{resources}.db'}")
    engine = build_engine(settings)
    clock = ManualClock(START)
    tracker = build_tracker(settings, clock, engine, calendar=load_calendar())
    batch, offset = [], 0
    for i in range(resources):
        batch.append({"code": f"R-{i:06d}", "action": "added", "update_cycle": "weekly" if i < due else "yearly",
                      "share_type": "conditional", "open_type": "none"})
        if len(batch) == 1000 or i == resources - 1:
            event = catalog_updated(f"bench-{offset}", "tjj", "2026-03-04T09:00:00+08:00", resources=batch)
            tracker.apply_batch([accepted_at("catalog.catalog-updates", 0, offset, event)])
            batch, offset = [], offset + 1
    return tracker, engine


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return (time.perf_counter() - started) * 1000, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = []
        for size in (args.resources, max(args.due, args.resources // 10)):
            registered_ms, (tracker, engine) = timed(lambda: registered_tracker(Path(tmp), size, args.due))
            tracker.tick(START)  # warm up: statements compiled, nothing due
            quiet = [timed(lambda: tracker.tick(at)) for at in QUIET[:3]]
            mondays = []
            for monday in MONDAYS:
                mondays.append(timed(lambda: tracker.tick(monday)))
                tracker.tick(monday + timedelta(days=3))  # not timed: the week's missed deadlines and reminders
            quiet += [timed(lambda: tracker.tick(at)) for at in QUIET[3:]]
            figures.append((size, registered_ms, median([ms for ms, _ in quiet]),
                            sum(r.obligations_opened for _, r in quiet), median([ms for ms, _ in mondays]),
                            median([r.obligations_opened for _, r in mondays])))
            if size == args.resources:
                with engine.connect() as conn:
                    plan = conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN SELECT * FROM catalog_resources WHERE next_period_start <= ? "
                        "AND status = 'active' ORDER BY next_period_start, department, code LIMIT 5000",
                        ("2026-03-08 16:00:01",)).all()
            engine.dispose()
    print(f"catalog tick benchmark (SQLite, {args.due} weekly resources among the register, the rest yearly)")
    print(f"{'register':>9} {'load ms':>9} {'quiet tick ms':>14} {'opened':>7} {'Monday tick ms':>15} {'opened':>7}")
    for size, load, quiet, quiet_opened, monday, opened in figures:
        print(f"{size:>9} {load:>9.0f} {quiet:>14.1f} {quiet_opened:>7} {monday:>15.1f} {opened:>7}")
    print("due-periods query plan:", " | ".join(str(row[-1]) for row in plan))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
