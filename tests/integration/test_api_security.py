"""The HTTP API is safe to expose (issue 9): one test group per point, over HTTP with aiohttp's test server.

The app is the real one (``api.app.build_api``) on a real database (SQLite and PostgreSQL) filled
through the real Tracker; the security settings come from ``Settings`` as in production.
"""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api import params
from api.app import build_api
from api.security import CONTENT_SECURITY_POLICY
from config.bootstrap import build_api_context, build_models
from config.settings import Settings
from models.clock import SHANGHAI, ManualClock
from models.events import CATALOG_UPDATED, REGULATION_CHANGED
from models.validation import build_cloudevent, event_from_attributes
from tests.fakes import accepted_at

NOW = datetime(2026, 3, 17, 10, 0, tzinfo=SHANGHAI)
API_TOKEN = "api-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
READ_PATHS = ["/api/health", "/api/obligations", "/api/departments", "/api/departments/jyj/summary",
              "/api/violations", "/api/unassessed", "/api/evaluation/2026", "/api/openapi.json"]
RELOAD = "/api/calendar/reload"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _contexts(database_url: str):
    """``make(**settings)``: API contexts on one database with one obligation in it; yields, then disposes."""
    holder = {}

    def make(**overrides):
        settings = Settings.from_env({}, database_url=database_url, **overrides)
        if "parts" not in holder:
            parts = build_models(settings, ManualClock(NOW))
            event = build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
                "regulation_id": "r1", "title": "《数据条例》修订", "change_kind": "amended",
                "changed_on": "2026-03-02", "affected_departments": ["jyj"]}, id="R1", time=NOW)
            update = build_cloudevent(CATALOG_UPDATED, "/yuhua/catalog-platform", {  # a register with one resource
                "department": "jyj", "submitted_at": "2026-03-10T10:00:00+08:00", "catalog_version": "v1",
                "resources": [{"code": "JYJ-001", "name": "学校名录", "action": "added", "share_type": "conditional",
                               "update_cycle": "monthly", "share_channel": "municipal-platform"}]},
                id="U1", time=NOW)
            parts.tracker.apply_batch([accepted_at("catalog.regulation-changes", 0, 0, event_from_attributes(event)),
                                       accepted_at("catalog.catalog-updates", 0, 0, event_from_attributes(update))])
            holder["parts"] = parts
        parts = holder["parts"]
        return build_api_context(settings, clock=parts.tracker.clock, parts=parts,
                                 worker_status=lambda: {"relay_lease_holder": True})

    yield make
    if "parts" in holder:
        holder["parts"].engine.dispose()


@pytest.fixture
def make_context(sqlite_url):
    """Security is the same on every database: these tests run on SQLite."""
    yield from _contexts(sqlite_url)


@pytest.fixture
def make_db_context(database_url):
    """For what reaches SQL (bounds, schemas): SQLite and PostgreSQL."""
    yield from _contexts(database_url)


def send(context, *requests: tuple) -> list[tuple[int, dict, object]]:
    """(status, headers, body) for each (method, path[, headers]); JSON bodies decoded."""
    async def run():
        answers = []
        async with TestClient(TestServer(build_api(context))) as client:
            for method, path, *rest in requests:
                response = await client.request(method, path, headers=rest[0] if rest else None)
                if response.content_type == "application/json":
                    body = await response.json()
                elif "spreadsheetml" in response.content_type:  # the evaluation workbook
                    body = await response.read()
                else:
                    body = await response.text()
                answers.append((response.status, dict(response.headers), body))
        return answers

    return asyncio.run(run())


def one(context, method: str, path: str, headers: dict | None = None) -> tuple[int, dict, object]:
    return send(context, (method, path, headers))[0]


# ---------------------------------------------------------------- writes need credentials

def test_without_an_api_token_configured_writes_are_refused_with_how_to_enable_them(make_context):
    status, headers, body = one(make_context(), "POST", RELOAD, bearer(API_TOKEN))
    assert status == 403
    assert "TRACKER_API_TOKEN" in body["error"] and "Authorization: Bearer" in body["error"]


def test_a_write_needs_the_api_token(make_context):
    context = make_context(api_token=API_TOKEN, read_token=READ_TOKEN)
    missing, wrong, prefix, read_only, basic, right = send(
        context, ("POST", RELOAD), ("POST", RELOAD, bearer("x" * 26)), ("POST", RELOAD, bearer(API_TOKEN[:-1])),
        ("POST", RELOAD, bearer(READ_TOKEN)), ("POST", RELOAD, {"Authorization": f"Basic {API_TOKEN}"}),
        ("POST", RELOAD, bearer(API_TOKEN)))
    assert missing[0] == 401 and missing[1]["WWW-Authenticate"] == 'Bearer realm="catalog-tracker"'
    assert "TRACKER_API_TOKEN" in missing[2]["error"]
    for answer in (wrong, prefix, basic):
        assert answer[0] == 401 and 'error="invalid_token"' in answer[1]["WWW-Authenticate"], answer
    assert read_only[0] == 403 and "only read" in read_only[2]["error"]
    assert right[0] == 200 and right[2]["reloaded"] is True


def test_tokens_are_compared_in_constant_time(make_context, monkeypatch):
    import hmac

    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    status, _, _ = one(make_context(api_token=API_TOKEN), "POST", RELOAD, bearer(API_TOKEN))
    assert status == 200
    assert (API_TOKEN.encode(), API_TOKEN.encode()) in compared


def test_a_token_that_is_too_short_is_a_settings_error():
    from config.settings import SettingsError

    with pytest.raises(SettingsError, match="TRACKER_API_TOKEN"):
        Settings.from_env({"TRACKER_API_TOKEN": "short"})
    with pytest.raises(SettingsError, match="TRACKER_READ_TOKEN"):
        Settings.from_env({"TRACKER_READ_TOKEN": "has spaces in it, sixteen+"})
    assert API_TOKEN not in repr(Settings.from_env({"TRACKER_API_TOKEN": API_TOKEN}))


# ---------------------------------------------------------------- reads may be protected

def test_reads_are_open_by_default(make_context):
    answers = send(make_context(api_token=API_TOKEN), *[("GET", path) for path in READ_PATHS])
    assert [status for status, _, _ in answers] == [200] * len(READ_PATHS)


def test_with_a_read_token_every_api_read_needs_it(make_context):
    context = make_context(read_token=READ_TOKEN, api_token=API_TOKEN)
    without = send(context, *[("GET", path) for path in READ_PATHS], ("GET", "/api/no-such-path"),
                   ("HEAD", "/api/obligations"))
    assert [status for status, _, _ in without] == [401] * (len(READ_PATHS) + 2)
    assert all(h["WWW-Authenticate"].startswith("Bearer") for _, h, _ in without)
    assert "TRACKER_READ_TOKEN" in without[0][2]["error"]
    wrong = send(context, *[("GET", path, bearer("w" * 26)) for path in READ_PATHS])
    assert [status for status, _, _ in wrong] == [401] * len(READ_PATHS)
    for token in (READ_TOKEN, API_TOKEN):  # the API token reads too
        answers = send(context, *[("GET", path, bearer(token)) for path in READ_PATHS])
        assert [status for status, _, _ in answers] == [200] * len(READ_PATHS), token


def test_a_calendar_feed_takes_the_read_token_in_its_url(make_context):
    """Calendar apps subscribe by URL and send no header: a feed (….ics) takes ?token=; nothing else does."""
    context = make_context(read_token=READ_TOKEN)
    feed = "/api/departments/jyj/deadlines.ics"
    statuses = [s for s, _, _ in send(context, ("GET", f"{feed}?token={READ_TOKEN}"), ("GET", feed),
                                      ("GET", f"{feed}?token=not-the-token-0123456789"),
                                      ("GET", f"/api/obligations?token={READ_TOKEN}"),
                                      ("GET", f"{feed}?token=wrong", bearer(READ_TOKEN)))]
    assert statuses == [200, 401, 401, 401, 200]


def test_with_a_read_token_the_dashboard_files_load_and_ask_for_it(make_context):
    context = make_context(read_token=READ_TOKEN)
    page, script, style = send(context, ("GET", "/"), ("GET", "/dashboard/static/app.js"),
                               ("GET", "/dashboard/static/style.css"))
    assert page[0] == script[0] == style[0] == 200  # no data in them; the data behind /api/ needs the token
    assert "sessionStorage" in script[2] and '"Bearer "' in script[2] and "r.status === 401" in script[2]


def test_with_a_read_token_the_dashboard_words_load_without_it(make_context):
    """The page's words (GET /api/wording) hold no data: the token form needs them before there is a token."""
    from models import wording

    context = make_context(read_token=READ_TOKEN)
    (status, headers, body), (other, _, _) = send(context, ("GET", "/api/wording"), ("GET", "/api/departments"))
    assert (status, other) == (200, 401)
    assert body["labels"]["token_title"] == list(wording.DASHBOARD["token_title"])
    assert body["kinds"]["catalog-update"][0] == wording.OBLIGATION_KINDS["catalog-update"][0]
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")


# ---------------------------------------------------------------- Host names the server

@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:8080", "localhost.",
                                  "[::1]", "[::1]:8080"])
def test_loopback_names_are_accepted(make_context, host):
    assert one(make_context(), "GET", "/api/departments", {"Host": host})[0] == 200


@pytest.mark.parametrize("host", ["rebinding.example", "rebinding.example:8080", "127.0.0.1.rebinding.example",
                                  "localhost.rebinding.example", "0.0.0.0:8080", "[::2]", "local host"])
def test_other_names_are_misdirected_requests(make_context, host):
    for path in ("/api/departments", "/", "/dashboard/static/app.js"):
        status, headers, body = one(make_context(), "GET", path, {"Host": host})
        assert status == 421, (host, path)
        assert "TRACKER_ALLOWED_HOSTS" in body["error"]
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_allowed_hosts_add_names_and_ports(make_context):
    context = make_context(allowed_hosts="tracker.yuhua.gov.cn, api.internal:8443")
    statuses = [status for status, _, _ in send(context, *[("GET", "/api/departments", {"Host": host}) for host in (
        "tracker.yuhua.gov.cn", "tracker.yuhua.gov.cn:80", "api.internal:8443", "api.internal:8080",
        "api.internal", "localhost:8080")])]
    assert statuses == [200, 200, 200, 421, 421, 200]


def test_a_star_turns_the_host_check_off(make_context):
    assert one(make_context(allowed_hosts="*"), "GET", "/api/departments", {"Host": "anything.example"})[0] == 200


def test_the_bound_address_is_a_name_of_the_server(make_context):
    context = make_context(http_host="10.1.2.3")
    assert [s for s, _, _ in send(context, ("GET", "/api/departments", {"Host": "10.1.2.3:8080"}),
                                  ("GET", "/api/departments", {"Host": "10.1.2.4:8080"}))] == [200, 421]


def raw_request(context, data: bytes) -> bytes:
    """Bytes sent as they are (no client fills in a Host header or fixes a line); the answer's bytes."""
    async def run() -> bytes:
        server = TestServer(build_api(context))
        await server.start_server()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(data)
            await writer.drain()
            answer = await reader.read()
            writer.close()
            return answer
        finally:
            await server.close()

    return asyncio.run(run())


def test_a_request_without_a_host_header_is_refused(make_context):
    answer = raw_request(make_context(), b"GET /api/departments HTTP/1.0\r\n\r\n")
    assert b" 400 " in answer.split(b"\r\n", 1)[0] and b"Host header" in answer


# ---------------------------------------------------------------- security headers on every answer

def test_every_answer_carries_the_security_headers_and_no_server_version(make_context):
    context = make_context(read_token=READ_TOKEN)
    broken = dataclasses.replace(context, registry=None)  # a bug: GET /api/departments answers 500
    answers = send(context, ("GET", "/api/obligations", bearer(READ_TOKEN)), ("GET", "/"),
                   ("GET", "/dashboard"), ("GET", "/dashboard/static/app.js"), ("GET", "/dashboard/static/style.css"),
                   ("GET", "/dashboard/static/favicon.svg"), ("GET", "/dashboard/static/nothing.js"),
                   ("GET", "/api/obligations"), ("POST", "/api/obligations", bearer(READ_TOKEN)),
                   ("GET", "/api/obligations?limit=0", bearer(READ_TOKEN)),
                   ("GET", "/api/departments", {"Host": "rebinding.example"}))
    answers += send(broken, ("GET", "/api/departments", bearer(READ_TOKEN)))
    assert [status for status, _, _ in answers] == [200, 200, 200, 200, 200, 200, 404, 401, 405, 400, 421, 500]
    for status, headers, _ in answers:
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, status
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Server"] == "catalog-tracker", headers["Server"]
    assert answers[0][1]["Cache-Control"] == "no-store"  # an authenticated answer is not kept by a cache
    assert answers[1][1]["Cache-Control"] == "no-cache"  # the page: revalidated, so a newer tracker's page shows


def test_a_malformed_request_names_no_version_and_logs_one_line(make_context, caplog):
    with caplog.at_level("DEBUG", logger="aiohttp.server"):
        too_long = b"X-Long: " + b"a" * 9000
        answer = raw_request(make_context(), b"GET / HTTP/1.1\r\nHost: localhost\r\n" + too_long + b"\r\n\r\n")
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert " 400 " in head.splitlines()[0]
    assert "Server: catalog-tracker" in head and "aiohttp" not in head and "Python" not in head
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [r.levelname for r in records] == ["WARNING"] and records[0].exc_info is None
    assert "LineTooLong" in records[0].getMessage()


def test_the_dashboard_page_has_no_inline_script_or_style():
    import re

    from api.dashboard import STATIC_DIR

    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert "<style" not in page and " style=" not in page and "data:" not in page
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "style=" not in script and "eval(" not in script and "new Function" not in script


# ---------------------------------------------------------------- bad parameters are 400, never 500

@pytest.mark.parametrize("path, parameter", [
    ("/api/obligations?offset=99999999999999999999999", "offset"),
    (f"/api/obligations?offset={params.MAX_OFFSET + 1}", "offset"),
    ("/api/violations?offset=99999999999999999999999", "offset"),
    ("/api/unassessed?offset=99999999999999999999999", "offset"),
    ("/api/unassessed?limit=1001", "limit"),
    ("/api/obligations?limit=%D9%A1%D9%A2", "limit"),  # Arabic-Indic digits: int() takes them, SQL does not
    ("/api/obligations?limit=1_0", "limit"),
    ("/api/obligations?limit=%2010", "limit"),
    ("/api/obligations?due_to=", "due_to"),
    ("/api/obligations?due_from=2026-W10-1", "due_from"),
    ("/api/obligations?due_from=20260302", "due_from"),
    ("/api/obligations?status=open&status=overdue", "status"),
    ("/api/obligations?departement=jyj", "departement"),
    ("/api/obligations?department=%00", "department"),
    ("/api/violations?rule=%00", "rule"),
    ("/api/violations?rule=late", "rule"),
    ("/api/unassessed?limit=", "limit"),
    ("/api/obligations/ob%00x", "id"),
    ("/api/obligations/" + "x" * 129, "id"),
    ("/api/departments/jy%00j/summary", "code"),
    ("/api/evaluation/1999", "year"),
    ("/api/evaluation/2101", "year"),
    ("/api/evaluation/99999999999999999999999", "year"),
    ("/api/evaluation/%D9%A2%D9%A0%D9%A2%D9%A6", "year"),
    ("/api/health?verbose=1", "verbose"),
    ("/api/departments?x=1", "x"),
    ("/api/deliveries?offset=99999999999999999999999", "offset"),
    ("/api/deliveries?status=lost", "status"),
    ("/api/deliveries?obligation_id=%00", "obligation_id"),
    ("/api/delivery?x=1", "x"),
    ("/api/departments/jyj/deadlines.ics?x=1", "x"),
    ("/api/departments/j%00yj/deadlines.ics", "code"),
])
def test_bad_parameters_are_400_naming_the_parameter(make_db_context, path, parameter):
    status, _, body = one(make_db_context(), "GET", path)
    assert status == 400, body
    assert body["parameter"] == parameter and body["status"] == 400


def test_the_largest_offset_and_every_status_work_on_the_database(make_db_context):
    context = make_db_context()
    answers = send(context, ("GET", f"/api/obligations?offset={params.MAX_OFFSET}"),
                   ("GET", f"/api/violations?offset={params.MAX_OFFSET}&limit={params.MAX_LIMIT}"),
                   ("GET", f"/api/unassessed?offset={params.MAX_OFFSET}"),
                   ("GET", "/api/obligations?status=cancelled"), ("GET", "/api/violations?rule=overdue"),
                   ("GET", "/api/obligations?due_from=2026-03-01&due_to=2026-03-31&department=jyj"))
    assert [status for status, _, _ in answers] == [200] * 6
    assert answers[0][2]["obligations"] == [] and answers[0][2]["total"] == 1
    assert answers[5][2]["total"] == 1


def test_unknown_items_are_404_not_500(make_db_context):
    statuses = [s for s, _, _ in send(make_db_context(), ("GET", "/api/obligations/%ED%A0%80"),
                                      ("GET", "/api/obligations/ob-nothing"),
                                      ("GET", "/api/departments/nobody/summary"))]
    assert all(status in (400, 404) for status in statuses) and statuses[1:] == [404, 404]


# ---------------------------------------------------------------- 405 with Allow, as JSON

@pytest.mark.parametrize("method, path, allowed", [
    ("POST", "/api/obligations", "GET, HEAD"),
    ("DELETE", "/api/obligations/x", "GET, HEAD"),
    ("PUT", "/api/departments", "GET, HEAD"),
    ("OPTIONS", "/api/health", "GET, HEAD"),
    ("GET", RELOAD, "POST"),
    ("DELETE", RELOAD, "POST"),
    ("POST", "/", "GET, HEAD"),
])
def test_a_method_a_route_does_not_allow_is_405_with_allow(make_context, method, path, allowed):
    status, headers, body = one(make_context(api_token=API_TOKEN), method, path)
    assert status == 405
    assert headers["Allow"] == allowed and headers["Content-Type"].startswith("application/json")
    assert body["allowed"] == allowed.split(", ") and method in body["error"]


# ---------------------------------------------------------------- the description says what the API does

def test_the_description_documents_every_status_and_the_tokens(make_context):
    context = make_context()
    status, _, spec = one(context, "GET", "/api/openapi.json")
    assert status == 200
    assert set(spec["components"]["securitySchemes"]) == {"apiToken", "readToken", "feedToken"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"200", "400", "401", "421"} <= set(responses), (path, method)
            # every error answer is the JSON Error (a degraded health check answers 503 with its Health body, a
            # worker not ready 503 with its Readiness body)
            errors = [c for c in responses if c != "200" and (path, c) not in {("/api/health", "503"),
                                                                                ("/readyz", "503")}]
            for code in errors:
                assert responses[code]["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), code
            if "{" in path:
                assert "404" in responses or path == "/api/evaluation/{year}", path
            if method == "post":
                assert "403" in responses and operation["security"] == [{"apiToken": []}]
            else:
                assert {} in operation["security"]  # open unless the server sets TRACKER_READ_TOKEN
    department = next(p for p in spec["paths"]["/api/obligations"]["get"]["parameters"] if p["name"] == "department")
    assert department["schema"]["enum"] == [d.code for d in context.registry]
    offset = next(p for p in spec["paths"]["/api/obligations"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == params.MAX_OFFSET
    year = spec["paths"]["/api/evaluation/{year}"]["get"]["parameters"][0]["schema"]
    assert (year["minimum"], year["maximum"]) == params.YEARS
    departments = spec["paths"]["/api/departments"]["get"]["responses"]["200"]["content"]["application/json"]
    assert departments["schema"]["type"] == "array"  # it answers an array (it said object)


def _json_schema(schema):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's ``"type": [..., "null"]``."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        converted["type"] = [schema["type"], "null"]
    return converted


def test_the_answers_match_their_schemas(make_db_context):
    """Each 200 body validates against its documented schema (schemathesis does this on generated requests)."""
    import jsonschema_rs

    context = make_db_context(api_token=API_TOKEN)
    spec = one(context, "GET", "/api/openapi.json")[2]
    obligation_id = one(context, "GET", "/api/obligations")[2]["obligations"][0]["id"]
    paths = {"/api/obligations/{id}": f"/api/obligations/{obligation_id}",
             "/api/departments/{code}/summary": "/api/departments/jyj/summary",
             "/api/departments/{code}/catalog": "/api/departments/jyj/catalog",
             "/api/departments/{code}/resources/{resource_code}": "/api/departments/jyj/resources/JYJ-001",
             "/api/evaluation/{year}": "/api/evaluation/2026",
             "/api/departments/{code}/deadlines.ics": "/api/departments/jyj/deadlines.ics",
             "/api/evaluation/{year}.xlsx": "/api/evaluation/2026.xlsx"}
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            status, headers, body = one(context, method.upper(), paths.get(template, template),
                                        bearer(API_TOKEN) if method == "post" else None)
            assert status == 200, (template, body)
            content = operation["responses"]["200"]["content"]
            if "application/json" not in content:  # the calendar feed and the workbook (their own tests read them)
                assert headers["Content-Type"].split(";")[0] in content, (template, headers["Content-Type"])
                continue
            schema = content["application/json"]["schema"]
            validator = jsonschema_rs.Draft4Validator(_json_schema({**schema, "components": spec["components"]}))
            errors = [str(e) for e in validator.iter_errors(body)]
            assert not errors, (template, errors[:3])
