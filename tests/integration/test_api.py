"""The HTTP API on a real database (SQLite and PostgreSQL), filled through the real Tracker.

The app is served by aiohttp's test server; requests go over HTTP.
"""
from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_api
from config.bootstrap import build_api_context, build_models
from config.settings import Settings
from models.clock import SHANGHAI, ManualClock
from models.events import CATALOG_UPDATED, REGULATION_CHANGED
from models.validation import build_cloudevent
from tests.fakes import accepted_at

NOW = datetime(2026, 3, 17, 10, 0, tzinfo=SHANGHAI)
API_TOKEN = "test-api-token-0123456789"
WRITE = {"Authorization": f"Bearer {API_TOKEN}"}


def accepted(event: dict, offset: int):
    from models.validation import event_from_attributes

    return accepted_at("catalog.regulation-changes", 0, offset, event_from_attributes(event))


@pytest.fixture
def api_context(database_url):
    settings = Settings.from_env({}, database_url=database_url, api_token=API_TOKEN)
    clock = ManualClock(NOW)
    parts = build_models(settings, clock)
    events = [
        build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
            "regulation_id": "r1", "title": "《数据条例》修订", "change_kind": "amended", "changed_on": "2026-03-02",
            "affected_departments": ["jyj", "mzj"]}, id="R1", time=NOW),
        build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
            "regulation_id": "r2", "title": "《旧条例》修订", "change_kind": "amended", "changed_on": "2026-01-05",
            "affected_departments": ["czj"]}, id="R2", time=NOW),
        build_cloudevent(CATALOG_UPDATED, "/yuhua/catalog-platform", {
            "department": "jyj", "submitted_at": "2026-03-10T15:00:00+08:00", "catalog_version": "v2",
            "resolves": ["R1"]}, id="U1", time=NOW),
    ]
    parts.tracker.apply_batch([accepted(e, i) for i, e in enumerate(events)])
    context = build_api_context(settings, clock=clock, parts=parts, worker_status=lambda: {"relay_lease_holder": True})
    yield context
    parts.engine.dispose()


def call(context, method: str, path: str, headers: dict | None = None) -> tuple[int, object]:
    async def run():
        async with TestClient(TestServer(build_api(context))) as client:
            response = await client.request(method, path, headers=headers)
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    return asyncio.run(run())


def test_health_reports_database_and_worker(api_context):
    status, body = call(api_context, "GET", "/api/health")
    assert status == 200
    assert body["database"] == "ok" and body["worker"] == {"relay_lease_holder": True}
    assert body["now"] == "2026-03-17T10:00:00+08:00"


def test_obligations_filters_and_times_in_shanghai(api_context):
    status, body = call(api_context, "GET", "/api/obligations")
    assert status == 200 and body["total"] == 3
    status, body = call(api_context, "GET", "/api/obligations?status=open&department=mzj")
    assert [(o["department"], o["status"], o["due_date"]) for o in body["obligations"]] == [
        ("mzj", "open", "2026-03-23")]
    status, body = call(api_context, "GET", "/api/obligations?status=completed")
    assert [o["department"] for o in body["obligations"]] == ["jyj"]
    status, body = call(api_context, "GET", "/api/obligations?due_from=2026-03-01&due_to=2026-03-31")
    assert sorted(o["department"] for o in body["obligations"]) == ["jyj", "mzj"]
    status, body = call(api_context, "GET", "/api/obligations?limit=1&offset=1")
    assert len(body["obligations"]) == 1 and body["total"] == 3
    for obligation in call(api_context, "GET", "/api/obligations")[1]["obligations"]:
        for name, value in obligation.items():
            if isinstance(value, str) and "T" in value and value[:4].isdigit() and ":" in value:
                assert value.endswith("+08:00"), (name, value)


def test_pages_follow_next_with_after_to_the_end(api_context):
    whole = call(api_context, "GET", "/api/obligations")[1]
    assert whole["next"] is None and whole["total"] == 3
    walked, after = [], ""
    while True:
        status, page = call(api_context, "GET", f"/api/obligations?limit=2{after}")
        assert status == 200 and page["total"] == 3 and page["limit"] == 2
        walked += [o["id"] for o in page["obligations"]]
        if page["next"] is None:
            break
        after = f"&after={page['next']}"
    assert walked == [o["id"] for o in whole["obligations"]]
    status, page = call(api_context, "GET", f"/api/violations?limit=1{after}")
    assert status == 400 and page["parameter"] == "after"  # an obligations cursor means nothing to violations


def test_one_obligation_with_explanation_and_history_or_404(api_context):
    listed = call(api_context, "GET", "/api/obligations?department=jyj")[1]["obligations"][0]
    status, body = call(api_context, "GET", f"/api/obligations/{listed['id']}")
    assert status == 200 and body["id"] == listed["id"]
    assert body["history"], "opened and completed are in the history"
    assert "explanation" in body
    status, body = call(api_context, "GET", "/api/obligations/does-not-exist")
    assert status == 404 and "does-not-exist" in body["error"]


@pytest.mark.parametrize("query, parameter", [
    ("status=late", "status"),
    ("due_from=2026-13-01", "due_from"),
    ("due_from=yesterday", "due_from"),
    ("due_from=2026-03-10&due_to=2026-03-01", "due_from"),
    ("limit=0", "limit"),
    ("limit=abc", "limit"),
    ("offset=-1", "offset"),
    ("department=nobody", "department"),
    ("after=not%20base64", "after"),
    ("after=WyJub3BlIl0", "after"),  # base64 of ["nope"]: not a sort key of this list
])
def test_bad_query_parameters_are_400_with_the_reason(api_context, query, parameter):
    status, body = call(api_context, "GET", f"/api/obligations?{query}")
    assert status == 400
    assert body["parameter"] == parameter and parameter in body["error"]


def test_departments_and_summary(api_context):
    status, departments = call(api_context, "GET", "/api/departments")
    assert status == 200
    codes = {d["code"]: d["name"] for d in departments}
    assert codes["jyj"] == "区教育局"
    status, summary = call(api_context, "GET", "/api/departments/mzj/summary")
    assert status == 200 and "mzj" in str(summary)
    assert call(api_context, "GET", "/api/departments/nobody/summary")[0] == 404


def test_violations_unassessed_and_evaluation(api_context):
    status, body = call(api_context, "GET", "/api/violations")
    assert status == 200
    violations = body["violations"] if isinstance(body, dict) else body
    assert [v["department"] for v in violations] == ["czj"]  # R2 was overdue on arrival
    assert call(api_context, "GET", "/api/violations?department=jyj")[1] != body
    status, body = call(api_context, "GET", "/api/unassessed")
    assert status == 200
    status, body = call(api_context, "GET", "/api/evaluation/2026")
    assert status == 200 and "jyj" in str(body)
    assert call(api_context, "GET", "/api/evaluation/twenty")[0] == 400


def test_calendar_reload_reports_what_moved(api_context):
    status, body = call(api_context, "POST", "/api/calendar/reload", WRITE)
    assert status == 200
    job = body.pop("job")
    assert body == {"reloaded": True, "rescheduled": 0, "examined": 0, "changed_days": 0,
                    "years_now_official": [], "years_now_provisional": []}
    status, state = call(api_context, "GET", "/api/calendar/reschedule")
    assert status == 200 and state["job"]["id"] == job and state["job"]["state"] == "done"
    assert (state["job"]["candidates"], state["job"]["moved"], state["job"]["changed"]) == (0, 0, [])
    body = call(api_context, "POST", "/api/calendar/reload", WRITE)[1]
    assert (body["job"], body["examined"]) == (None, 0)  # the same calendar again: nothing to examine, no job


def test_unknown_api_path_is_json_404(api_context):
    status, body = call(api_context, "GET", "/api/nothing-here")
    assert status == 404 and body["status"] == 404


OUTSIDE_API = {"/metrics", "/healthz", "/readyz"}  # served beside /api/ (Prometheus and orchestrators expect them)


def test_openapi_describes_every_api_route(api_context):
    status, spec = call(api_context, "GET", "/api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    app = build_api(api_context)
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and (path.startswith("/api/") or path in OUTSIDE_API) and route.method != "HEAD":
            served.add((path, route.method.lower()))
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert served == described


def test_calendar_reload_with_a_new_notice_reschedules_open_obligations(database_url, tmp_path):
    """2026's notice arrives while 2026 is provisional: the reload makes it official and moves the deadline."""
    import shutil

    from config.settings import CONFIG_DIR

    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    notice = (calendar_dir / "2026.yaml").read_text(encoding="utf-8")
    (calendar_dir / "2026.yaml").unlink()
    settings = Settings.from_env({}, database_url=database_url, calendar_dir=str(calendar_dir), api_token=API_TOKEN)
    clock = ManualClock(datetime(2026, 9, 21, 10, 0, tzinfo=SHANGHAI))
    context = build_api_context(settings, clock=clock)
    # Around 中秋/国庆 2026 the notice adds make-up working days (09-20, 10-10) the weekday rule does not know.
    event = build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
        "regulation_id": "r9", "title": "《条例》修订", "change_kind": "amended", "changed_on": "2026-09-18",
        "affected_departments": ["jyj"]}, id="R9", time=clock.now())
    context.tracker.apply_batch([accepted(event, 0)])
    before = call(context, "GET", "/api/obligations?department=jyj")[1]["obligations"][0]
    assert before["provisional"] is True

    (calendar_dir / "2026.yaml").write_text(notice, encoding="utf-8")
    status, body = call(context, "POST", "/api/calendar/reload", WRITE)
    assert status == 200 and body["years_now_official"] == [2026]
    after = call(context, "GET", "/api/obligations?department=jyj")[1]["obligations"][0]
    assert after["provisional"] is False
    assert body["rescheduled"] == 1 and body["examined"] == 1 and body["changed_days"] > 0
    job = call(context, "GET", "/api/calendar/reschedule")[1]["job"]
    assert (job["id"], job["state"], job["examined"], job["moved"]) == (body["job"], "done", 1, 1)
    context.engine.dispose()


def test_evaluation_as_an_excel_download(api_context):
    import io

    from openpyxl import load_workbook

    from models import wording
    from models.exports.evaluation_workbook import CONTENT_TYPE

    async def run():
        async with TestClient(TestServer(build_api(api_context))) as client:
            response = await client.get("/api/evaluation/2026.xlsx")
            return response.status, response.content_type, response.headers, await response.read()

    status, content_type, headers, body = asyncio.run(run())
    assert (status, content_type) == (200, CONTENT_TYPE)
    assert headers["Content-Disposition"] == 'attachment; filename="evaluation-2026.xlsx"'
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == [pair[0] for pair in wording.XLSX_SHEETS.values()]
    assert "截至 2026-03-17 10:00" in book.worksheets[0]["A1"].value  # the API's clock, as GET /api/evaluation
    counted = book[wording.XLSX_SHEETS["obligations"][0]]
    assert sorted(row[1] for row in counted.iter_rows(min_row=3, values_only=True)) == ["czj", "jyj", "mzj"]
    assert len(book[wording.XLSX_SHEETS["chart"][0]]._charts) == 1
    # the JSON route beside it still answers, and a bad year is the usual JSON 400
    assert call(api_context, "GET", "/api/evaluation/2026")[1]["year"] == 2026
    status, body = call(api_context, "GET", "/api/evaluation/1999.xlsx")
    assert status == 400 and body["parameter"] == "year"
