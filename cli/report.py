"""``catalog-tracker report evaluation YEAR [--csv FILE] [--json] [--as-of INSTANT]``.

The yearly evaluation of every department (第二十四条): obligations whose
start day falls in the year, completed on time / late, still open, overdue,
the on-time rate, violations by rule and by article, and the average working
days taken; then the catalog register's size, the periods of data owed
(aggregated on time, late, missed, not yet due: 第十二条, counted apart from the
other obligations), the opening duties (第二十条) and channel violations. Computed from the stored history in ``DATABASE_URL``, so the same
events always give the same report. ``--csv FILE`` also writes it as CSV
(UTF-8 with BOM, so spreadsheet programs show the Chinese names);
``--xlsx FILE`` as an Excel workbook (``models.exports.evaluation_workbook``: the
figures, violations by article, the counted obligations and a chart of the
on-time rate by department).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from models import wording
from models.evaluation import CATALOG_COLUMNS


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="reports from the stored history (yearly evaluation)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    reports = parser.add_subparsers(dest="report", metavar="REPORT")
    evaluation = reports.add_parser("evaluation", help="the yearly evaluation of every department (第二十四条)")
    evaluation.add_argument("year", type=int, help="e.g. 2025")
    evaluation.add_argument("--csv", metavar="FILE", help="also write the report as CSV to FILE")
    evaluation.add_argument("--xlsx", metavar="FILE", help="also write the report as an Excel workbook to FILE")
    evaluation.add_argument("--json", action="store_true", help="print JSON instead of the table")
    evaluation.add_argument("--as-of", metavar="INSTANT",
                            help="judge open obligations as of this RFC 3339 instant (default: the end of the "
                                 "year, or now if the year is not over)")
    evaluation.set_defaults(func=run_evaluation)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_evaluation(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from config.bootstrap import build_engine, build_registry
    from config.settings import Settings
    from models.clock import clock_from_spec, parse_instant
    from models.departments import RegistryError
    from models.sql.queries import counted_obligations, evaluation

    if not 2000 <= args.year <= 2100:
        print(f"catalog-tracker report: year {args.year} is out of range (2000-2100)", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    try:
        registry = build_registry(settings)
        if args.as_of:
            as_of = parse_instant(args.as_of)
        else:
            as_of = clock_from_spec(settings.clock).now()  # evaluation() stops at the end of the year
        engine = build_engine(settings)
    except (RegistryError, ValueError) as exc:
        print(f"catalog-tracker report: {exc}", file=sys.stderr)
        return 2
    try:
        with Session(engine) as session:
            report = evaluation(session, registry, args.year, now=as_of)
            counted = counted_obligations(session, registry, args.year, now=as_of) if args.xlsx else []
    finally:
        engine.dispose()
    if args.csv:
        write_csv(report, Path(args.csv))
    if args.xlsx:
        write_xlsx(report, counted, Path(args.xlsx), settings)
    if args.json:
        from api.jsonio import dumps

        print(dumps(report))
    else:
        print(render(report))
        written = [f"{kind}: {name}" for kind, name in (("CSV", args.csv), ("Excel", args.xlsx)) if name]
        if written:
            print("\n" + "\n".join(written))
    return 0


def _rate(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _counts(mapping: dict, names: dict | None = None) -> str:
    return "；".join(f"{(names or {}).get(k, k)}×{v}" for k, v in mapping.items()) or "-"


def render(report: dict) -> str:
    from cli.table import render_table

    rows = []
    for r in [*report["departments"], report["totals"]]:
        rows.append([r["name"], "" if r["department"] == "*" else r["department"], r["obligations"], r["on_time"],
                     r["late"], r["open"], r["overdue"], _rate(r["on_time_rate"]), r["violations"],
                     _counts(r["violations_by_rule"], {k: v[0] for k, v in wording.RULES_SHORT.items()}),
                     _counts(r["violations_by_article"]),
                     "-" if r["average_working_days_taken"] is None else r["average_working_days_taken"]])
    table = render_table([zh for zh, _ in wording.EVALUATION_COLUMNS], rows, numeric=(2, 3, 4, 5, 6, 7, 8, 11))
    return f"{wording.evaluation_title(report['year'], report['as_of'])}\n\n{table}\n\n{render_catalog(report)}"


def render_catalog(report: dict) -> str:
    """The second table: the register's size, the periods of data owed and the opening duties (第八条–第二十条)."""
    from cli.table import render_table

    rows = [[r["name"], "" if r["department"] == "*" else r["department"], *(r.get(f, 0) for f in CATALOG_COLUMNS)]
            for r in [*report["departments"], report["totals"]]]
    table = render_table([zh for zh, _ in wording.CATALOG_EVALUATION_COLUMNS], rows,
                         numeric=tuple(range(2, 2 + len(CATALOG_COLUMNS))))
    return f"{wording.CATALOG_EVALUATION_TITLE[0]}\n\n{table}"


def csv_rows(report: dict) -> tuple[list[str], list[list[object]]]:
    rows = [*report["departments"], report["totals"]]
    rules = sorted({k for r in rows for k in r["violations_by_rule"]} | set(wording.RULES_SHORT))
    articles = sorted({k for r in rows for k in r["violations_by_article"]})
    header = ["year", "department", "name", "obligations", "on_time", "late", "open", "overdue", "on_time_rate",
              "violations", *[f"rule:{rule}" for rule in rules], *[f"article:{a}" for a in articles],
              "average_working_days_taken", *CATALOG_COLUMNS]
    body = []
    for r in rows:
        body.append([report["year"], r["department"], r["name"], r["obligations"], r["on_time"], r["late"], r["open"],
                     r["overdue"], "" if r["on_time_rate"] is None else r["on_time_rate"], r["violations"],
                     *[r["violations_by_rule"].get(rule, 0) for rule in rules],
                     *[r["violations_by_article"].get(a, 0) for a in articles],
                     "" if r["average_working_days_taken"] is None else r["average_working_days_taken"],
                     *(r.get(f, 0) for f in CATALOG_COLUMNS)])
    return header, body


def write_csv(report: dict, path: Path) -> None:
    header, body = csv_rows(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)



def write_xlsx(report: dict, counted: list[dict], path: Path, settings) -> None:
    from config.bootstrap import build_policies
    from models.exports.evaluation_workbook import applied_policies, workbook_bytes

    policies = applied_policies(counted, build_policies(settings), report["year"], settings.jurisdiction)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes(report, counted, policies))
