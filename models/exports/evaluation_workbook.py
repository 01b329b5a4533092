"""The yearly evaluation (第二十四条) as an Excel workbook, for supervisors who work in spreadsheets.

Built from the same report dict as the CLI table and the CSV
(``models.sql.queries.evaluation``) and the obligations that report counts
(``models.sql.queries.counted_obligations``), so the three never disagree.
Sheets: the per-department figures, violations by article, the counted
obligations, and the on-time rate by department with a native bar chart.
Every sheet starts with a title row (year, as-of time, policies) above its
frozen header row; rates are numbers formatted as percent; times are written
in Asia/Shanghai (Excel has no time zones). Words come from ``models.wording``.

The CLI (``report evaluation --xlsx``) and the API (``GET /api/evaluation/{year}.xlsx``)
both call ``workbook_bytes``; it lives in ``models`` because both may import it, in ``models.exports``
beside the domain because it imports openpyxl.
"""
from __future__ import annotations

import io
import unicodedata
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models import wording
from models.clock import SHANGHAI
from models.evaluation import CATALOG_COLUMNS

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT = "0.0%"
DAY = "yyyy-mm-dd"
INSTANT = "yyyy-mm-dd hh:mm"
AVERAGE = "0.00"
TITLE_ROW, HEADER_ROW = 1, 2
FIRST_DATA_ROW = HEADER_ROW + 1
MIN_WIDTH, MAX_WIDTH = 6, 60

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_TITLE_FONT = Font(bold=True, size=13)


def workbook_bytes(report: Mapping[str, Any], counted: Sequence[Mapping[str, Any]],
                   policies: Sequence[str]) -> bytes:
    """The .xlsx file's bytes; ``policies``: how the title names the policies applied (``applied_policies``)."""
    buffer = io.BytesIO()
    build_workbook(report, counted, policies).save(buffer)
    return buffer.getvalue()


def build_workbook(report: Mapping[str, Any], counted: Sequence[Mapping[str, Any]],
                   policies: Sequence[str]) -> Workbook:
    title = wording.evaluation_workbook_title(report["year"], report["as_of"], list(policies))
    book = Workbook()
    departments = book.active
    departments.title = wording.XLSX_SHEETS["departments"][0]
    _department_sheet(departments, report, title)
    _article_sheet(book.create_sheet(wording.XLSX_SHEETS["articles"][0]), report, title)
    _catalog_sheet(book.create_sheet(wording.XLSX_SHEETS["catalog"][0]), report, title)
    _counted_sheet(book.create_sheet(wording.XLSX_SHEETS["obligations"][0]), counted, title)
    _chart_sheet(book.create_sheet(wording.XLSX_SHEETS["chart"][0]), report, title)
    return book


def applied_policies(counted: Iterable[Mapping[str, Any]], policy_set=None, year: int | None = None,
                     jurisdiction: str | None = None) -> list[str]:
    """The policies the year was judged under, as the title names them: label (id version).

    The stored facts first (the policy each counted obligation was opened
    under); a year with no obligation names the policies in force during it
    (``policy_set``: ``models.policy.PolicySet``).
    """
    pairs = list(dict.fromkeys((row["policy_id"], row["policy_version"]) for row in counted))
    if not pairs and policy_set is not None and year is not None:
        first, last = date(year, 1, 1), date(year, 12, 31)
        pairs = [(p.id, p.version) for p in policy_set.policies
                 if (jurisdiction is None or p.jurisdiction == jurisdiction)
                 and p.valid_from <= last and (p.valid_until is None or p.valid_until >= first)]
    lines = []
    for policy_id, version in pairs:
        policy = policy_set.by_id(policy_id) if policy_set is not None else None
        lines.append(f"{policy.label}（{policy_id} {version}）" if policy is not None else f"{policy_id} {version}")
    return lines


# ------------------------------------------------------------------ sheets

def _department_sheet(sheet: Worksheet, report: Mapping[str, Any], title: str) -> None:
    columns = wording.XLSX_DEPARTMENT_COLUMNS
    rules = _rules(report)
    keys = ["name", "department", "obligations", "on_time", "late", "open", "overdue", "on_time_rate", "violations"]
    headers = [columns[key][0] for key in keys]
    headers += [wording.XLSX_RULE_PREFIX[0] + wording.zh(wording.RULES_SHORT, rule) for rule in rules]
    headers.append(columns["average_working_days_taken"][0])
    rows = []
    for row in _rows_with_totals(report):
        values = [row[key] for key in keys]
        if row["department"] == "*":
            values[1] = None
        values += [row["violations_by_rule"].get(rule, 0) for rule in rules]
        values.append(row["average_working_days_taken"])
        rows.append(values)
    formats = {keys.index("on_time_rate"): PERCENT, len(headers) - 1: AVERAGE}
    _table(sheet, title, headers, rows, formats)
    _bold_last_row(sheet, len(rows))


def _article_sheet(sheet: Worksheet, report: Mapping[str, Any], title: str) -> None:
    columns = wording.XLSX_DEPARTMENT_COLUMNS
    articles = sorted({a for row in _rows_with_totals(report) for a in row["violations_by_article"]})
    headers = [columns["name"][0], columns["department"][0], *articles, wording.TOTAL[0]]
    rows = []
    for row in _rows_with_totals(report):
        counts = [row["violations_by_article"].get(a, 0) for a in articles]
        rows.append([row["name"], None if row["department"] == "*" else row["department"], *counts, sum(counts)])
    _table(sheet, title, headers, rows, {})
    _bold_last_row(sheet, len(rows))


def _catalog_sheet(sheet: Worksheet, report: Mapping[str, Any], title: str) -> None:
    """The register's size, the periods of data owed and the opening duties (第八条, 第十二条, 第二十条)."""
    headers = [zh for zh, _ in wording.CATALOG_EVALUATION_COLUMNS]
    rows = [[row["name"], None if row["department"] == "*" else row["department"],
             *(row.get(key, 0) for key in CATALOG_COLUMNS)] for row in _rows_with_totals(report)]
    _table(sheet, title, headers, rows, {})
    _bold_last_row(sheet, len(rows))


def _counted_sheet(sheet: Worksheet, counted: Sequence[Mapping[str, Any]], title: str) -> None:
    columns = wording.XLSX_COUNTED_COLUMNS
    keys = list(columns)
    headers = [columns[key][0] for key in keys]
    rows = []
    for item in counted:
        values = {**item,
                  "kind": wording.zh(wording.OBLIGATION_KINDS, item["kind"]),
                  "provisional": wording.YES_NO[bool(item["provisional"])][0],
                  "status": wording.zh(wording.STATUSES, item["status"]),
                  "outcome": wording.OUTCOMES[item["outcome"] or ""][0],
                  "completed_at": _local(item["completed_at"])}
        rows.append([values[key] for key in keys])
    formats = {keys.index("start_day"): DAY, keys.index("due_date"): DAY, keys.index("completed_at"): INSTANT}
    _table(sheet, title, headers, rows, formats)


def _chart_sheet(sheet: Worksheet, report: Mapping[str, Any], title: str) -> None:
    """The departments with a rate (judged obligations), best first, and their bar chart beside the table."""
    columns = wording.XLSX_DEPARTMENT_COLUMNS
    judged = sorted((row for row in report["departments"] if row["on_time_rate"] is not None),
                    key=lambda row: (-row["on_time_rate"], row["department"]))
    rows = [[row["name"], row["on_time_rate"]] for row in judged]
    _table(sheet, title, [columns["name"][0], columns["on_time_rate"][0]], rows, {1: PERCENT})
    if not rows:
        sheet.cell(FIRST_DATA_ROW, 1, wording.DASHBOARD["no_chart"][0])
        return
    last = HEADER_ROW + len(rows)
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: long Chinese names stay readable
    chart.title = wording.DASHBOARD["chart_title"][0]
    chart.legend = None
    chart.add_data(Reference(sheet, min_col=2, min_row=HEADER_ROW, max_row=last), titles_from_data=True)
    names = Reference(sheet, min_col=1, min_row=FIRST_DATA_ROW, max_row=last)
    for series in chart.series:  # text categories (set_categories would declare them numbers)
        series.cat = AxDataSource(strRef=StrRef(f=str(names)))
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorGridlines = None
    chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
    chart.y_axis.crosses = "max"  # and the percent axis below the bars, where the reversed axis would not put it
    chart.x_axis.delete = chart.y_axis.delete = False  # newer Excel hides axes left unset
    chart.dataLabels = DataLabelList(showVal=True, showCatName=False, showSerName=False, showLegendKey=False,
                                     showPercent=False)
    chart.dataLabels.numFmt = PERCENT
    chart.width, chart.height = 18, max(7.5, 0.7 * len(rows) + 3)
    sheet.add_chart(chart, f"D{HEADER_ROW}")


# ------------------------------------------------------------------ layout

def _table(sheet: Worksheet, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: Mapping[int, str]) -> None:
    """Title row, bold header row frozen below it, rows, number formats, widths.

    The title is not merged over the columns: alone in its row it runs on over the empty cells to its right,
    even above a table of two columns.
    """
    sheet.cell(TITLE_ROW, 1, title).font = _TITLE_FONT
    sheet.row_dimensions[TITLE_ROW].height = 22
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(HEADER_ROW, column, header)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, values in enumerate(rows, start=FIRST_DATA_ROW):
        for c, value in enumerate(values):
            cell = sheet.cell(r, c + 1, value)
            if c in formats:
                cell.number_format = formats[c]
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 1)
    _print_setup(sheet)
    for c, header in enumerate(headers):
        shown = [_shown(values[c], formats.get(c)) for values in rows]
        width = max([_width(header), *map(_width, shown)]) + 2
        sheet.column_dimensions[get_column_letter(c + 1)].width = min(MAX_WIDTH, max(MIN_WIDTH, width))


def _print_setup(sheet: Worksheet) -> None:
    """Printed: landscape, the title and header rows on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"


def _bold_last_row(sheet: Worksheet, rows: int) -> None:
    for cell in sheet[HEADER_ROW + rows]:
        cell.font = _HEADER_FONT


def _rows_with_totals(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*report["departments"], report["totals"]]


def _rules(report: Mapping[str, Any]) -> list[str]:
    """Every rule the wording names, then any other the stored violations carry."""
    seen = {rule for row in _rows_with_totals(report) for rule in row["violations_by_rule"]}
    return [*wording.RULES_SHORT, *sorted(seen - set(wording.RULES_SHORT))]


def _local(value: datetime | None) -> datetime | None:
    """Excel stores no time zone: the wall-clock time in Asia/Shanghai."""
    return value.astimezone(SHANGHAI).replace(tzinfo=None) if value is not None else None


def _shown(value: Any, number_format: str | None) -> str:
    """Roughly what the cell shows, to size its column."""
    if value is None:
        return ""
    if number_format == PERCENT:
        return "100.0%"
    if isinstance(value, datetime):
        return "2025-01-01 00:00"
    if isinstance(value, date):
        return "2025-01-01"
    return str(value)


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: Chinese (wide) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
