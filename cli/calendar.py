"""``catalog-tracker calendar``: the working-day calendar from the command line.

- ``calendar show 2026``: the year's rest days, make-up working days, and whether it is provisional.
- ``calendar explain 2026-09-25 15``: the deadline and the days counted and skipped.
- ``calendar deadlines --input cases.csv [--output out.csv] [--skip-invalid]``: adds
  ``deadline``, ``deadline_end`` and ``provisional`` to every row of a CSV with
  ``start_date,working_days`` (other columns pass through).
- ``calendar import --year 2027 notice.txt [--output FILE] [--dry-run]``: the notice's
  text to ``2027.yaml`` (``cli/calendar_import.py``).
- ``calendar reload [--url http://127.0.0.1:8080]``: asks the running tracker to re-read the
  notices (``cli/calendar_reload.py``, with ``TRACKER_API_TOKEN`` from the environment).

Bad input exits with status 2 and one line naming the row and the problem. The
module imports only argparse at import time: ``calendars`` is imported when a
calendar command runs, so other commands start as fast as before.
"""
from __future__ import annotations

import argparse
import sys

MAX_WORKING_DAYS = 1000
INPUT_COLUMNS = ("start_date", "working_days")
OUTPUT_COLUMNS = ("deadline", "deadline_end", "provisional")


class InputProblem(Exception):
    """Bad user input; the message is the one line printed before exiting with status 2."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calendar",
        help="working-day calendar: show a year, explain a deadline, compute deadlines for a CSV, import a notice",
        description="中国大陆工作日日历（国务院放假安排）— working days, deadlines and their explanation.",
    )
    parser.add_argument("--calendar-dir", help="directory of the notice files (default: TRACKER_CALENDAR_DIR, i.e. config/calendars)")
    parser.add_argument(
        "--jurisdiction",
        help="apply this jurisdiction's local adjustments, config/calendars/local/<name>.yaml "
        "(default: TRACKER_JURISDICTION, as the worker does; '' for the national calendar only)",
    )
    commands = parser.add_subparsers(dest="calendar_command", metavar="{show,explain,deadlines,import,reload}")
    parser.set_defaults(func=lambda args: _usage(parser))

    show = commands.add_parser("show", help="a year's rest days and make-up working days")
    show.add_argument("year", help="e.g. 2026")
    show.add_argument("--lang", choices=("zh", "en"), default="zh")
    show.set_defaults(func=_run(_show))

    explain = commands.add_parser("explain", help="a deadline with the days counted and skipped")
    explain.add_argument("start_date", help="the event day, YYYY-MM-DD (not counted)")
    explain.add_argument("working_days", help=f"N, 0..{MAX_WORKING_DAYS}")
    explain.add_argument("--lang", choices=("zh", "en"), default="zh")
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON")
    explain.set_defaults(func=_run(_explain))

    batch = commands.add_parser("deadlines", help="deadlines for every row of a CSV (start_date,working_days)")
    batch.add_argument("--input", required=True, help="CSV with columns start_date,working_days ('-' for stdin)")
    batch.add_argument("--output", help="write here instead of stdout (written only if every row is valid)")
    batch.add_argument("--skip-invalid", action="store_true", help="skip bad rows (each reported on stderr) instead of failing")
    batch.set_defaults(func=_run(_deadlines))

    from cli.calendar_import import add_import_command

    add_import_command(commands)

    from cli.calendar_reload import add_reload_command  # calendar reload: POST /api/calendar/reload

    add_reload_command(commands)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _run(command):
    """Wrap a command: calendar errors and bad input become one line on stderr and status 2."""

    def run(args: argparse.Namespace) -> int:
        from calendars import CalendarError, OutOfRange

        try:
            return command(args)
        except InputProblem as problem:
            _fail(str(problem))
        except (CalendarError, OutOfRange) as error:
            _fail(str(error))
        return 2

    return run


def _fail(message: str) -> None:
    print(f"catalog-tracker calendar: {message}", file=sys.stderr)


def calendar_location(args: argparse.Namespace):
    """The calendar folder and jurisdiction the worker would use, unless --calendar-dir / --jurisdiction say
    otherwise: ``(Path, jurisdiction or None)``."""
    from pathlib import Path

    directory, jurisdiction = args.calendar_dir, args.jurisdiction
    if directory is None or jurisdiction is None:
        from config.settings import Settings, SettingsError

        try:
            settings = Settings.from_env()
        except SettingsError as error:
            raise InputProblem(str(error)) from None
        directory = directory or settings.calendar_dir
        jurisdiction = settings.jurisdiction if jurisdiction is None else jurisdiction
    return Path(directory), (jurisdiction or None)


def _load(args: argparse.Namespace):
    """The calendar the worker would use, unless --calendar-dir / --jurisdiction say otherwise."""
    from calendars import load_calendar

    return load_calendar(*calendar_location(args))


# ----- show ---------------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    if not (args.year.isdigit() and len(args.year) == 4):
        raise InputProblem(f"year {args.year!r} is not a year (e.g. 2026)")
    cal = _load(args)
    year = int(args.year)
    if not cal.first_day.year <= year <= cal.last_day.year:
        raise InputProblem(f"year {year} is outside the supported range {cal.first_day.year}..{cal.last_day.year}")
    summary = cal.year_summary(year)
    zh = args.lang == "zh"
    out = []
    if summary.notice:
        n = summary.notice
        issued = n.issued.isoformat() if n.issued else "?"
        amended = [a.document_number for a in n.amendments]
        extra = f"，另见 {'、'.join(amended)}" if amended and zh else (f"; amended by {', '.join(amended)}" if amended else "")
        out.append(f"{year}: {n.title}（{n.document_number}，{issued}）{extra}" if zh else f"{year}: State Council notice {n.document_number} of {issued}{extra}")
    else:
        out.append(
            f"{year}: 暂定 — 国务院节假日安排尚未载入，只按法定节日推算，调休上班日未知"
            if zh
            else f"{year}: PROVISIONAL — no State Council notice loaded; statutory holidays only, make-up working days unknown"
        )
    if cal.is_provisional(year + 1):
        first, last = cal.year_end_window(year)
        out.append(
            f"{first.isoformat()} 至 {last.isoformat()}：暂定 — {year + 1} 年的国务院节假日安排尚未载入，"
            "往年的通知曾调整上一年年末的日期"
            if zh
            else f"{first.isoformat()} to {last.isoformat()}: PROVISIONAL — no notice loaded for {year + 1}, "
            "and a year's notice has often changed the last days of the year before it"
        )
    out.append(("放假日（节假日及调休，含假期内的周末）" if zh else "Rest days (holidays, including weekend days inside a holiday block)") + f" [{len(summary.rest_days)}]:")
    out += [f"  {_line(s, zh)}" for s in summary.rest_days]
    out.append(("调休上班" if zh else "Make-up working days") + f" [{len(summary.make_up_days)}]:")
    out += [f"  {_line(s, zh)}" for s in summary.make_up_days]
    if cal.local:
        out.append((f"地方调整（{cal.local.name_zh}）" if zh else f"Local adjustments ({cal.local.name_en})") + f" [{len(summary.local_days)}]:")
        out += [f"  {_line(s, zh)}" for s in summary.local_days]
    print("\n".join(out))
    return 0


def _line(status, zh: bool) -> str:
    from calendars.results import WEEKDAYS_EN, WEEKDAYS_ZH

    weekday = (WEEKDAYS_ZH if zh else WEEKDAYS_EN)[status.day.weekday()]
    reason = status.reason.zh if zh else status.reason.en
    return f"{status.day.isoformat()} {weekday} {reason}"


# ----- explain ------------------------------------------------------------------------------------


def _explain(args: argparse.Namespace) -> int:
    import json
    from datetime import date

    cal = _load(args)
    tables = cal.day_tables()
    start_index = _parse_start(tables, args.start_date)
    n = _parse_n(args.working_days)
    _check_reachable(tables, start_index, n)
    explanation = cal.explain(date.fromisoformat(tables.iso[start_index]), n)
    if args.json:
        print(json.dumps(explanation.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(explanation.text_zh() if args.lang == "zh" else explanation.text_en())
    return 0


# ----- deadlines (batch) --------------------------------------------------------------------------


def _deadlines(args: argparse.Namespace) -> int:
    import csv
    import io
    import os
    import tempfile

    source = args.input
    try:
        handle = sys.stdin if source == "-" else open(source, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    try:
        header, rows, skipped = _read_cases(args, source, handle)
    except UnicodeDecodeError:
        raise InputProblem(f"{source}: not UTF-8 text") from None
    except csv.Error as exc:
        raise InputProblem(f"{source}: not a readable CSV file: {exc}") from None
    finally:
        if handle is not sys.stdin:
            handle.close()

    if args.output:
        directory = os.path.dirname(os.path.abspath(args.output))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".deadlines-", suffix=".csv", dir=directory)
        except OSError as exc:
            raise InputProblem(f"cannot write {args.output}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                _write(csv, out, header, rows)
            os.replace(tmp, args.output)
        except OSError as exc:
            os.unlink(tmp)
            raise InputProblem(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        buffer = io.StringIO()
        _write(csv, buffer, header, rows)
        sys.stdout.write(buffer.getvalue())
    if skipped:
        print(f"catalog-tracker calendar: {len(rows)} rows written, {skipped} skipped", file=sys.stderr)
    return 0


def _read_cases(args: argparse.Namespace, source: str, handle) -> tuple[list[str], list[list[str]], int]:
    """Every row with its deadline columns, or InputProblem for the first bad row (unless --skip-invalid)."""
    import csv

    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise InputProblem(f"{source}: empty file (expected a header with {','.join(INPUT_COLUMNS)})")
    missing = [c for c in INPUT_COLUMNS if c not in header]
    if missing:
        raise InputProblem(f"{source}: missing column {', '.join(missing)} (header: {','.join(header)})")
    start_col, n_col = header.index("start_date"), header.index("working_days")
    added = [c for c in OUTPUT_COLUMNS if c not in header]
    out_header = header + added
    replace_at = [header.index(c) if c in header else len(header) + added.index(c) for c in OUTPUT_COLUMNS]
    width = len(header)

    cal = _load(args)
    tables = cal.day_tables()
    index_of, iso, end_iso = tables.index_of, tables.iso, tables.end_iso
    cum, workday_index, prov_cum = tables.cum, tables.workday_index, tables.prov_cum
    last_k = len(workday_index) - 1
    n_of = {str(k): k for k in range(MAX_WORKING_DAYS + 1)}
    rows: list[list[str]] = []
    skipped = 0
    for row in reader:
        if not row:
            continue
        try:
            if len(row) != width:
                raise InputProblem(f"has {len(row)} fields, the header has {width}")
            i = index_of.get(row[start_col])
            if i is None:
                i = _parse_start(tables, row[start_col])
            n = n_of.get(row[n_col])
            if n is None:
                n = _parse_n(row[n_col])
            if n:
                k = cum[i + 1] + n - 1
                if k > last_k:
                    _check_reachable(tables, i, n)
                j = workday_index[k]
            else:
                j = i
        except InputProblem as problem:
            where = f"{source} row {len(rows) + skipped + 1} (line {reader.line_num})"
            if not args.skip_invalid:
                raise InputProblem(f"{where}: {problem}") from None
            skipped += 1
            print(f"catalog-tracker calendar: skipped {where}: {problem}", file=sys.stderr)
            continue
        values = (iso[j], end_iso[j], "true" if prov_cum[j + 1] != prov_cum[i + 1] else "false")
        if added == list(OUTPUT_COLUMNS):
            row += values
        else:
            row += [""] * len(added)
            for at, value in zip(replace_at, values):
                row[at] = value
        rows.append(row)
    return out_header, rows, skipped


def _write(csv, out, header: list[str], rows: list[list[str]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


# ----- input checks shared by explain and deadlines -----------------------------------------------


def _parse_start(tables, text: str) -> int:
    from datetime import date

    value = text.strip()
    i = tables.index_of.get(value)
    if i is not None:
        return i
    try:
        if len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise InputProblem(f"start_date {text!r} is not a date (expected YYYY-MM-DD)") from None
    raise InputProblem(f"start_date {day} is outside the supported range {tables.first_day}..{tables.last_day}")


def _parse_n(text: str) -> int:
    value = text.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not digits.isascii() or not digits.isdigit():
        raise InputProblem(f"working_days {text!r} is not a whole number")
    n = int(value)
    if n < 0:
        raise InputProblem(f"working_days {n} is negative")
    if n > MAX_WORKING_DAYS:
        raise InputProblem(f"working_days {n} is above {MAX_WORKING_DAYS}")
    return n


def _check_reachable(tables, i: int, n: int) -> None:
    if n and tables.cum[i + 1] + n - 1 >= len(tables.workday_index):
        raise InputProblem(f"the deadline {n} working days after {tables.iso[i]} falls after {tables.last_day}, the end of the supported range")
