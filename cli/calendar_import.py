"""``catalog-tracker calendar import --year 2027 notice.txt``: a State Council notice's text to ``2027.yaml``.

The text (a file, or ``-`` for standard input) is read by ``calendars.notice_text``; what
does not add up is refused with the sentence (status 2, nothing written). The file is
written to ``<calendar dir>/<year>.yaml`` (``--output`` elsewhere; an existing file only
with ``--replace``), atomically, and only after the whole calendar directory with it
loads cleanly, so the running worker's reload (which moves the deadlines) accepts it.
``--dry-run`` writes nothing: it prints the file, then, as YAML comments, the open
obligations in the database (DATABASE_URL) whose deadline the notice would change.
"""
from __future__ import annotations

import argparse
import sys

from cli.calendar import InputProblem, _run, calendar_location


def add_import_command(commands) -> None:
    """Add ``import`` to the ``calendar`` sub-commands."""
    parser = commands.add_parser(
        "import",
        help="write <year>.yaml from the text of a State Council holiday notice",
        description="读取国务院办公厅节假日安排通知的文本，生成 config/calendars/<year>.yaml。",
    )
    parser.add_argument("notice", help="the notice's text, UTF-8 ('-' for standard input)")
    parser.add_argument("--year", required=True, help="the year the notice arranges, e.g. 2027")
    parser.add_argument("--output", help="write here instead of <calendar dir>/<year>.yaml")
    parser.add_argument("--replace", action="store_true", help="overwrite an existing file")
    parser.add_argument("--url", help="where the notice is published (recorded as notice.url)")
    parser.add_argument("--dry-run", action="store_true",
                        help="write nothing; print the file and the open deadlines it would change")
    parser.set_defaults(func=_run(_import))


def _import(args: argparse.Namespace) -> int:
    import os
    import tempfile
    from pathlib import Path

    from calendars.notice_text import parse_notice_text, render_notice_yaml
    from calendars.sources import load_shared

    if not (args.year.isdigit() and len(args.year) == 4):
        raise InputProblem(f"--year {args.year!r} is not a year (e.g. 2027)")
    year = int(args.year)
    directory, jurisdiction = calendar_location(args)
    text = _read_text(args.notice)
    notice = parse_notice_text(text, year, load_shared(directory))
    for warning in notice.warnings:
        print(f"catalog-tracker calendar: warning: {warning}", file=sys.stderr)
    content = render_notice_yaml(notice, args.url)
    target = Path(args.output) if args.output else directory / f"{year}.yaml"
    after = _calendar_with(directory, jurisdiction, year, content)
    if args.dry_run:
        sys.stdout.write(content)
        sys.stdout.write(_moves_report(after, target))
        return 0
    if target.exists() and not args.replace:
        raise InputProblem(f"{target} exists; use --replace to overwrite it or --output to write elsewhere")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{year}-", suffix=".yaml.tmp", dir=target.parent)
    except OSError as exc:
        raise InputProblem(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
        os.replace(tmp, target)
    except OSError as exc:
        os.unlink(tmp)
        raise InputProblem(f"cannot write {target}: {exc.strerror}") from None
    rest, work = len(notice.rest_days), len(notice.make_up_days)
    print(f"catalog-tracker calendar: wrote {target} ({notice.document_number}: {rest} rest days, {work} make-up "
          "working days); a running worker reloads it on its next tick and moves the deadlines it changes",
          file=sys.stderr)
    return 0


def _read_text(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig")
        with open(source, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except OSError as exc:
        raise InputProblem(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputProblem(f"{source}: not UTF-8 text") from None


def _calendar_with(directory, jurisdiction, year: int, content: str):
    """The calendar the worker would load once the file is in place (CalendarError if it would refuse it)."""
    import shutil
    import tempfile
    from pathlib import Path

    from calendars import load_calendar

    with tempfile.TemporaryDirectory(prefix="calendar-import-") as tmp:
        copy = Path(tmp) / "calendars"
        shutil.copytree(directory, copy)
        for old in copy.glob(f"{year}.y*ml"):
            old.unlink()
        (copy / f"{year}.yaml").write_text(content, encoding="utf-8")
        return load_calendar(copy, jurisdiction)


def _moves_report(after, target) -> str:
    """YAML comments: the open obligations whose stored deadline the new calendar changes."""
    from sqlalchemy.orm import Session

    from config.bootstrap import build_engine
    from config.settings import Settings, SettingsError
    from models.sql import queries

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise InputProblem(str(error)) from None
    try:
        engine = build_engine(settings)
    except Exception as exc:  # noqa: BLE001 - a database that cannot be opened: one line, no traceback
        raise InputProblem(f"cannot open the database (DATABASE_URL): {exc}") from None
    changes, total = [], 0
    try:
        with Session(engine) as session:
            offset = 0
            while True:
                page = queries.list_obligations(session, status="open", limit=1000, offset=offset)
                for ob in page["obligations"]:
                    total += 1
                    new = after.deadline(ob["start_day"], ob["working_days"])
                    if new.due_date != ob["due_date"] or new.provisional != ob["provisional"]:
                        changes.append((ob, new))
                offset += len(page["obligations"])
                if offset >= page["total"] or not page["obligations"]:
                    break
    finally:
        engine.dispose()
    lines = [f"# dry run: nothing written to {target}",
             f"# open obligations whose deadline this notice changes: {len(changes)} of {total}"]
    for ob, new in changes:
        flag = lambda provisional: "（暂定）" if provisional else ""  # noqa: E731
        lines.append(
            f"#   {ob['id']} {ob['department']} {ob['kind']}: {ob['start_day']} + {ob['working_days']} 个工作日, "
            f"截止 {ob['due_date']}{flag(ob['provisional'])} -> {new.due_date}{flag(new.provisional)}"
        )
    return "\n".join(lines) + "\n"
