"""The evaluation workbook from report dicts (no database): the empty year and how the title names the policy."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from config.bootstrap import build_policies
from config.settings import Settings
from models import wording
from models.evaluation import Tally
from models.exports.evaluation_workbook import applied_policies, workbook_bytes
from tests.fakes import shanghai


def test_a_year_without_obligations_gives_headers_and_no_chart():
    report = Tally().report(2024, shanghai(2025, 1, 1), [("jyj", "区教育局")])
    book = load_workbook(io.BytesIO(workbook_bytes(report, [], [])))
    chart_sheet = book[wording.XLSX_SHEETS["chart"][0]]
    assert chart_sheet._charts == []
    assert chart_sheet["A3"].value == wording.DASHBOARD["no_chart"][0]
    assert wording.XLSX_NO_POLICY[0] in chart_sheet["A1"].value
    figures = book[wording.XLSX_SHEETS["departments"][0]]
    assert [row[:3] for row in figures.iter_rows(min_row=3, values_only=True)] == [
        ("区教育局", "jyj", 0), ("合计", None, 0)]
    assert book[wording.XLSX_SHEETS["obligations"][0]].max_row == 2  # title and headers only


def test_the_title_names_the_policies_the_obligations_were_opened_under():
    policies = build_policies(Settings.from_env({}))
    counted = [{"policy_id": "yuhua-2021-measures", "policy_version": "2021.1"},
               {"policy_id": "yuhua-2021-measures", "policy_version": "2021.1"},
               {"policy_id": "gone-policy", "policy_version": "9"}]
    lines = applied_policies(counted, policies, 2023, "yuhua")
    known = policies.by_id("yuhua-2021-measures")
    assert lines == [f"{known.label}（yuhua-2021-measures {known.version}）", "gone-policy 9"]


def test_a_year_without_obligations_names_the_policies_in_force_during_it():
    policies = build_policies(Settings.from_env({}))
    assert [line.rsplit("（", 1)[1] for line in applied_policies([], policies, 2023, "yuhua")] == [
        "yuhua-2021-measures 2021.1）", "yuhua-2021-measures-continuation 2023.1-continuation）"]
    assert applied_policies([], policies, 2020, "yuhua") == []


def test_the_catalog_figures_have_their_sheet():
    """The register's size, the periods owed and the opening duties (issue 12) are in the workbook too."""
    tally = Tally()
    tally.add_catalog_size("jyj", 3)
    report = tally.report(2026, shanghai(2026, 6, 1), [("jyj", "区教育局"), ("mzj", "区民政局")])
    book = load_workbook(io.BytesIO(workbook_bytes(report, [], [])))
    sheet = book[wording.XLSX_SHEETS["catalog"][0]]
    headers = [cell.value for cell in sheet[2]]
    assert headers == [zh for zh, _ in wording.CATALOG_EVALUATION_COLUMNS]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows[0][:3] == ("区教育局", "jyj", 3) and rows[1][:3] == ("区民政局", "mzj", 0)
    assert rows[-1][:3] == (wording.TOTAL[0], None, 3)
    assert sheet.freeze_panes == "A3"
