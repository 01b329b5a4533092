"""Benchmark of the working-day calendar (issue 2): per call, whole CSV process, index memory.

    /work/venv/bin/python benchmarks/calendar_bench.py [--calls 20000] [--rows 200000] [--seed 2]

1. Per call: the same random cases (start day in 2015–2025, N in 1–30) through
   ``calendars`` (``add_working_days`` and ``deadline``), ``holidays.China().
   get_nth_working_day`` and ``chinese_calendar.find_workday``; every answer is
   checked against ours, then microseconds per call and the ratios are printed.
2. Whole process: ``catalog-tracker calendar deadlines`` on a CSV of ``--rows``
   rows against a plain script feeding the same rows to
   ``holidays.get_nth_working_day`` and writing the due dates; both outputs are
   compared row by row.
3. Memory of the calendar index (tracemalloc, after loading, with the modules
   already imported), and of the batch command's per-day tables.

Targets (issue 2): >= 50x per call vs holidays, >= 5x for the CSV process, index < 5 MB.
"""
from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PLAIN_SCRIPT = r'''
import csv, sys
from datetime import date, timedelta
import holidays

china = holidays.China()
with open(sys.argv[1], newline="", encoding="utf-8") as src, open(sys.argv[2], "w", newline="", encoding="utf-8") as dst:
    reader = csv.reader(src)
    writer = csv.writer(dst, lineterminator="\n")
    header = next(reader)
    writer.writerow(header + ["deadline"])
    for start, n in reader:
        due = china.get_nth_working_day(date.fromisoformat(start), int(n))
        writer.writerow([start, n, due.isoformat()])
'''


def random_cases(count: int, seed: int) -> list[tuple[date, int]]:
    rng = random.Random(seed)
    first, last = date(2015, 1, 1), date(2025, 12, 31)
    span = (last - first).days
    return [(first + timedelta(days=rng.randint(0, span)), rng.randint(1, 30)) for _ in range(count)]


def per_call(label: str, function, cases, repeat: int = 3) -> tuple[float, list[date]]:
    best = float("inf")
    results: list[date] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = [function(start, n) for start, n in cases]
        best = min(best, time.perf_counter() - t0)
    micros = best / len(cases) * 1e6
    print(f"  {label:<48} {micros:10.3f} µs/call")
    return micros, results


def bench_calls(count: int, seed: int) -> dict[str, float]:
    import chinese_calendar
    import holidays

    import calendars

    cal = calendars.load_calendar()
    china = holidays.China(years=range(2014, 2028))
    cases = random_cases(count, seed)
    print(f"Per call: {count} random cases, start day 2015-01-01..2025-12-31, N 1..30 (seed {seed})")
    ours, expected = per_call("calendars add_working_days", cal.add_working_days, cases)
    ours_deadline, deadlines = per_call("calendars deadline (Deadline object)", cal.deadline, cases)
    theirs, got_holidays = per_call("holidays.China().get_nth_working_day", china.get_nth_working_day, cases, repeat=1)
    cc, got_cc = per_call(
        "chinese_calendar.find_workday",
        lambda start, n: chinese_calendar.find_workday(n - 1, start + timedelta(days=1)),
        cases,
        repeat=1,
    )
    assert [d.due_date for d in deadlines] == expected
    print(f"  disagreements with ours: holidays {sum(a != b for a, b in zip(expected, got_holidays))}, "
          f"chinese_calendar {sum(a != b for a, b in zip(expected, got_cc))} (of {count})")
    print(f"  ratio holidays / ours (add_working_days): {theirs / ours:8.1f}x   (target >= 50x)")
    print(f"  ratio holidays / ours (deadline):         {theirs / ours_deadline:8.1f}x")
    print(f"  ratio chinese_calendar / ours:            {cc / ours:8.1f}x")
    return {"ours": ours, "holidays": theirs, "chinese_calendar": cc}


def bench_csv(rows: int, seed: int) -> float:
    print(f"Whole process: {rows}-row CSV")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        source = tmpdir / "cases.csv"
        with source.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["start_date", "working_days"])
            writer.writerows((start.isoformat(), n) for start, n in random_cases(rows, seed + 1))
        plain = tmpdir / "plain.py"
        plain.write_text(PLAIN_SCRIPT, encoding="utf-8")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        ours_cmd = [sys.executable, "-m", "cli.main", "calendar", "deadlines", "--input", str(source), "--output", str(tmpdir / "ours.csv")]
        plain_cmd = [sys.executable, str(plain), str(source), str(tmpdir / "plain.csv")]
        timings = {}
        for label, cmd in (("catalog-tracker calendar deadlines", ours_cmd), ("plain script with holidays", plain_cmd)):
            best = float("inf")
            for _ in range(2 if label.startswith("catalog") else 1):
                t0 = time.perf_counter()
                subprocess.run(cmd, cwd=REPO, env=env, check=True)
                best = min(best, time.perf_counter() - t0)
            timings[label] = best
            print(f"  {label:<48} {best:10.3f} s")
        with (tmpdir / "ours.csv").open(encoding="utf-8") as a, (tmpdir / "plain.csv").open(encoding="utf-8") as b:
            ours_rows, plain_rows = list(csv.DictReader(a)), list(csv.DictReader(b))
        differing = sum(x["deadline"] != y["deadline"] for x, y in zip(ours_rows, plain_rows))
        assert len(ours_rows) == len(plain_rows) == rows
        print(f"  rows whose deadline differs: {differing} of {rows}")
        ratio = timings["plain script with holidays"] / timings["catalog-tracker calendar deadlines"]
        print(f"  ratio plain / ours: {ratio:8.1f}x   (target >= 5x)")
        startup = [sys.executable, "-m", "cli.main", "calendar", "--help"]
        t0 = time.perf_counter()
        subprocess.run(startup, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  (startup of 'catalog-tracker calendar --help': {time.perf_counter() - t0:.3f} s)")
        return ratio


def bench_memory() -> None:
    import holidays  # noqa: F401  (imported first: module code is not part of the index)

    import calendars

    calendars.load_calendar()  # warm caches of the holidays package and the YAML loader
    gc.collect()
    tracemalloc.start()
    cal = calendars.load_calendar()
    gc.collect()
    index_bytes = tracemalloc.get_traced_memory()[0]
    tables = cal.day_tables()
    gc.collect()
    tables_bytes = tracemalloc.get_traced_memory()[0] - index_bytes
    tracemalloc.stop()
    print(f"Memory (tracemalloc): calendar index {cal.first_day}..{cal.last_day}: {index_bytes / 1e6:.2f} MB (target < 5 MB); "
          f"batch day tables: {tables_bytes / 1e6:.2f} MB")
    del tables


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs")
    bench_calls(args.calls, args.seed)
    bench_csv(args.rows, args.seed)
    bench_memory()
    return 0


if __name__ == "__main__":
    sys.exit(main())
