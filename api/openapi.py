"""``GET /api/openapi.json``: an OpenAPI 3 description of what the JSON routes really do.

Kept beside the routes as data. Every answer has its schema (checked against the
running worker by schemathesis, ``tests/e2e/test_api_schema.py``); every status a
route can answer is listed; the parameters' bounds are those ``api.params``
enforces; the department codes are the registry's. A test checks that every route
registered under /api/ is described here and every described path is served.
"""
from __future__ import annotations

from typing import Iterable

from aiohttp import web

from api import params
from api.catalog import MAX_RESOURCE_CODE
from api.context import context_of
from api.jsonio import json_response
from api.routes import OBLIGATION_STATUSES as STATUSES, VIOLATION_RULES as RULES
from models.delivery import DELIVERY_STATUSES

TIME_NOTE = "Every timestamp is RFC 3339 with offset +08:00 (Asia/Shanghai); dates are ISO 8601."
AUTH_NOTE = ("Writes (POST) need `Authorization: Bearer <TRACKER_API_TOKEN>`; without a token configured on the "
             "server they are refused (403). When the server has TRACKER_READ_TOKEN set, every /api/ read needs "
             "`Authorization: Bearer <TRACKER_READ_TOKEN>` (the API token reads too). The Host header must name the "
             "server (loopback names, its bound address, TRACKER_ALLOWED_HOSTS), otherwise 421. A method a path "
             "does not allow is 405 with an Allow header. Every error is JSON: {\"error\": reason, \"status\": code}.")


# ---------------------------------------------------------------- schema helpers

def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
INSTANT = {"type": "string", "format": "date-time"}
STRINGS = {"type": "array", "items": STRING}
INTEGERS = {"type": "array", "items": INTEGER}
OBJECT = {"type": "object"}  # free-form JSON (an event's data, a history detail)
COUNTS = {"type": "object", "additionalProperties": INTEGER}


def _object(properties: dict, optional: Iterable[str] = ()) -> dict:
    return {"type": "object", "required": [name for name in properties if name not in set(optional)],
            "properties": properties}


def _page_of(key: str, item: str, keyset: bool = False) -> dict:
    """A page: its items, ``total`` (exact, of the whole filtered list), ``limit``, ``offset``; with ``keyset``
    also ``next``: the ``after`` value of the following page, null on the last page."""
    cursor = {"next": _nullable({"type": "string", "maxLength": params.MAX_CURSOR})} if keyset else {}
    return _object({key: {"type": "array", "items": _ref(item)}, "total": INTEGER, "limit": INTEGER,
                    "offset": INTEGER, **cursor})


OBLIGATION = {
    "id": STRING, "kind": STRING, "department": STRING, "article": STRING,
    "status": {"type": "string", "enum": list(STATUSES)}, "on_time": _nullable(BOOLEAN),
    "start_day": DATE, "working_days": INTEGER, "due_date": DATE, "due_end": INSTANT, "provisional": BOOLEAN,
    "trigger_event_id": STRING, "trigger_source": STRING, "trigger_type": STRING, "trigger_summary": STRING,
    "subject_ref": _nullable(STRING), "policy_id": STRING, "policy_version": STRING,
    "overdue_citations": STRINGS, "reminder_stages": INTEGERS, "stages_sent": INTEGERS,
    "next_reminder_at": _nullable(INSTANT), "opened_at": INSTANT, "completed_at": _nullable(INSTANT),
    "completed_by_event_id": _nullable(STRING), "working_days_taken": _nullable(INTEGER),
    "department_name": STRING,
    "working_days_left": {**_nullable(INTEGER),
                          "description": "working days left to the due date (0 on it, negative after); "
                                         "null once completed or cancelled"},
}
VIOLATION = {
    "id": STRING, "violation_id": STRING, "rule": {"type": "string", "enum": list(RULES)}, "article": STRING,
    "articles": STRINGS, "department": STRING, "obligation_id": _nullable(STRING), "trigger_event_id": STRING,
    "due_date": _nullable(DATE), "detected_at": INSTANT, "event_day": DATE, "policy_id": STRING,
    "explanation": {"type": "string", "description": "the finding in Chinese, with the articles' words"},
    "detail": OBJECT, "department_name": STRING,
}
EXPLANATION = _object({
    "start_day": DATE, "working_days": INTEGER, "due_date": DATE, "end": INSTANT, "provisional": BOOLEAN,
    "provisional_years": INTEGERS, "jurisdiction": _nullable(STRING), "citation_zh": STRING, "citation_en": STRING,
    "counted": {"type": "array", "items": _object({"date": DATE, "note_zh": STRING, "note_en": STRING,
                                                   "source": STRING})},
    "skipped": {"type": "array", "items": _object({"date": DATE, "reason_zh": STRING, "reason_en": STRING,
                                                   "source": STRING})},
    "text_zh": STRING, "text_en": _nullable(STRING),
})
REMINDER = {"stage": INTEGER, "working_days_left": INTEGER, "sent_at": INSTANT, "due_date": DATE}
EVALUATION_ROW = _object({
    "department": STRING, "name": STRING, "obligations": INTEGER, "on_time": INTEGER, "late": INTEGER,
    "open": INTEGER, "overdue": INTEGER, "on_time_rate": _nullable({"type": "number", "minimum": 0, "maximum": 1}),
    "violations": INTEGER, "violations_by_rule": COUNTS, "violations_by_article": COUNTS,
    "average_working_days_taken": _nullable({"type": "number"}),
})
SUMMARY_FIGURES = {"open": INTEGER, "due_soon": INTEGER, "overdue": INTEGER, "completed_on_time": INTEGER,
                   "completed_late": INTEGER}

NULLABLE_STRING = _nullable(STRING)
NULLABLE_INSTANT = _nullable(INSTANT)
CATALOG_ENTRY = {
    "department": STRING, "code": STRING, "name": NULLABLE_STRING,
    **{name: NULLABLE_STRING for name in ("classification", "responsible_party", "format", "update_cycle",
                                          "share_type", "share_channel", "open_type", "open_channel",
                                          "usage_requirements")},
    "contains_personal_info": _nullable(BOOLEAN), "desensitized": _nullable(BOOLEAN),
    "status": {"type": "string", "enum": ["active", "removed"]}, "revision": INTEGER, "catalog_version": STRING,
    "entered_at": NULLABLE_INSTANT, "changed_at": NULLABLE_INSTANT, "changed_by_event_id": NULLABLE_STRING,
    "removed_at": NULLABLE_INSTANT, "next_period": NULLABLE_STRING, "next_period_start": NULLABLE_INSTANT,
    "last_aggregated_at": NULLABLE_INSTANT, "last_aggregated_period": NULLABLE_STRING,
    "last_opened_at": NULLABLE_INSTANT, "last_shared_at": NULLABLE_INSTANT,
}
RESOURCE_STATE = {"type": "string", "enum": ["ok", "open", "soon", "overdue"],
                  "description": "the warning state of its obligations (ok: nothing owed)"}
NEXT_DUE = _nullable(_object({"obligation_id": STRING, "kind": STRING, "period": NULLABLE_STRING, "due_date": DATE,
                              "status": STRING, "working_days_left": _nullable(INTEGER)}))
HELD = _object({"source": STRING, "event_id": STRING, "type": STRING, "department": STRING, "resource_code": STRING,
                "event_time": INSTANT, "held_at": INSTANT, "unmatched_at": INSTANT, "unmatched": BOOLEAN,
                "reason": NULLABLE_STRING, "event": OBJECT})

SCHEMAS = {
    "Wording": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {
        "type": "array", "items": STRING, "minItems": 2, "maxItems": 2}}},
    "CatalogResource": _object({
        **CATALOG_ENTRY, "state": RESOURCE_STATE, "next_due": NEXT_DUE,
        "obligations": {**COUNTS, "description": "the resource's obligations by status"}, "violations": INTEGER},
        optional=tuple(CATALOG_ENTRY)),
    "Catalog": _object({"department": _ref("Department"), "code": STRING, "name": STRING,
                        "resources": {"type": "array", "items": _ref("CatalogResource")}, "total": INTEGER,
                        "removed": INTEGER, "held": INTEGER, "unmatched": INTEGER, "as_of": INSTANT}),
    "Resource": _object({
        **CATALOG_ENTRY, "department_name": STRING, "attributes": OBJECT, "state": RESOURCE_STATE,
        "next_due": NEXT_DUE,
        "history": {"type": "array", "items": _object({
            "at": INSTANT, "recorded_at": INSTANT, "action": STRING, "event_id": STRING,
            "event_source": NULLABLE_STRING, "catalog_version": NULLABLE_STRING, "revision": _nullable(INTEGER),
            "detail": OBJECT, "detail_zh": STRING}, optional=("recorded_at", "event_source", "catalog_version",
                                                              "revision"))},
        "obligations": {"type": "array", "items": _ref("Obligation")},
        "violations": {"type": "array", "items": _ref("Violation")},
        "held": {"type": "array", "items": _ref("Held")}},
        optional=tuple(name for name in CATALOG_ENTRY if name not in ("department", "code", "status"))),
    "Held": HELD,
    "UnmatchedPage": _page_of("unmatched", "Held", keyset=True),
    "Error": _object({"error": {"type": "string", "description": "what is wrong, for a person"},
                      "status": INTEGER, "parameter": {"type": "string", "description": "the parameter at fault"},
                      "allowed": {**STRINGS, "description": "the methods the path allows (405)"}},
                     optional=("parameter", "allowed")),
    "Department": _object({"code": STRING, "name": STRING, "kind": STRING, "kind_zh": STRING}),
    "Obligation": _object(OBLIGATION),
    "ObligationDetail": {"allOf": [_ref("Obligation"), _object({
        "explanation": {"oneOf": [_ref("Explanation"), _object({"error": STRING})],
                        "description": "the deadline's computation: days counted and skipped"},
        "history": {"type": "array", "items": _object({"at": INSTANT, "event": STRING,
                                                        "event_id": _nullable(STRING), "detail": OBJECT,
                                                        "detail_zh": STRING})},
        "reminders": {"type": "array", "items": _object({"id": STRING, **REMINDER})},
        "violations": {"type": "array", "items": _ref("Violation")},
    })]},
    "Explanation": EXPLANATION,
    "Violation": _object(VIOLATION),
    "Unassessed": _object({"source": STRING, "event_id": STRING, "type": STRING, "start_day": DATE,
                           "departments": STRINGS, "reason": STRING, "recorded_at": INSTANT, "event": OBJECT}),
    "ObligationPage": _page_of("obligations", "Obligation", keyset=True),
    "ViolationPage": _page_of("violations", "Violation", keyset=True),
    "UnassessedPage": _page_of("unassessed", "Unassessed", keyset=True),
    "Summary": _object({
        "department": _ref("Department"), "code": STRING, "name": STRING, **SUMMARY_FIGURES,
        "counts": _object(SUMMARY_FIGURES), "violations": INTEGER, "violations_by_rule": COUNTS,
        "reminders": {"type": "array", "items": _object({"obligation_id": STRING, **REMINDER})},
        "as_of": INSTANT}),
    "EvaluationRow": EVALUATION_ROW,
    "Evaluation": _object({"year": INTEGER, "as_of": INSTANT, "article": STRING,
                           "departments": {"type": "array", "items": _ref("EvaluationRow")},
                           "totals": _ref("EvaluationRow")}),
    "Health": {**_object({"status": {"type": "string", "description": "ok, or degraded with the cause"},
                          "now": {**INSTANT, "description": "the tracker's clock"},
                          "database": {"type": "string", "description": "ok, or the error"},
                          "missing_notice": _nullable({**_object({
                              "year": INTEGER, "since": DATE, "affects_from": DATE, "affects_to": DATE,
                              "provisional_open": _nullable(INTEGER), "message_zh": STRING, "message_en": STRING,
                              "needed_zh": STRING, "needed_en": STRING}),
                              "description": "next year's holiday notice not loaded (from 1 November), else null"}),
                          "worker": {"type": "object", "description": "the worker's counters (when the API runs "
                                                                      "inside a worker)"},
                          "causes": {**STRINGS, "description": "what holds the stream or the relay (degraded)"},
                          "not_answering": {**STRINGS, "description": "the parts that did not answer within "
                                                                      "their deadline (under a second)"}},
                         optional=("worker", "missing_notice", "causes", "not_answering"))},
    "Liveness": _object({"status": {"type": "string", "enum": ["alive"]}}),
    "Readiness": _object({
        "status": {"type": "string", "enum": ["ready", "not ready"]},
        "failing": {"type": "array", "items": {"type": "string", "enum": ["database", "broker", "partitions", "tick"]},
                    "description": "the parts that are not ready (empty when ready)"},
        "checks": {"type": "object", "additionalProperties": STRING,
                   "description": "each part checked: ok, or what is wrong (database, and inside a worker broker, "
                                  "partitions and, on the lease holder, tick)"}}),
    "Reload": _object({"reloaded": BOOLEAN,
                       "rescheduled": {"type": "integer", "minimum": 0,
                                       "description": "how many open obligations' deadlines moved"},
                       "examined": {"type": "integer", "minimum": 0,
                                    "description": "how many open obligations were looked at (their counting "
                                                   "interval contains a changed day)"},
                       "changed_days": _nullable({"type": "integer", "minimum": 0,
                                                  "description": "days whose working or provisional status "
                                                                 "changed; null: unknown, every open obligation "
                                                                 "was examined"}),
                       "job": _nullable({"type": "integer", "description": "the reschedule job "
                                                                            "(GET /api/calendar/reschedule); null "
                                                                            "when nothing could have moved"}),
                       "years_now_official": INTEGERS, "years_now_provisional": INTEGERS}),
    "RescheduleState": _object({"job": _nullable({**_object({
        "id": INTEGER, "state": {"type": "string", "enum": ["running", "done", "superseded"]},
        "fingerprint": {"type": "string", "description": "the calendar the job brings the obligations to"},
        "changed_days": _nullable({"type": "integer", "minimum": 0}),
        "changed": _nullable({"type": "array", "items": {"type": "array", "items": DATE, "minItems": 2,
                                                         "maxItems": 2},
                              "description": "runs [first, last] of changed days; null: unknown (every open "
                                             "obligation examined)"}),
        "candidates": {"type": "integer", "minimum": 0, "description": "open obligations queued to examine"},
        "examined": {"type": "integer", "minimum": 0}, "moved": {"type": "integer", "minimum": 0},
        "pages": {"type": "integer", "minimum": 0}, "started_at": INSTANT, "updated_at": INSTANT,
        "finished_at": _nullable(INSTANT)}),
        "description": "the newest job, null before the first"})}),
    "OpenApi": _object({"openapi": STRING, "info": OBJECT, "paths": OBJECT}),
    "AsyncApi": _object({"asyncapi": STRING, "info": OBJECT, "channels": OBJECT, "operations": OBJECT,
                         "components": OBJECT}),
    # delivery to people (issue 14)
    "Delivery": _object({
        "id": INTEGER, "notification_id": STRING, "channel": STRING, "recipient": STRING, "recipient_label": STRING,
        "department": STRING, "obligation_id": _nullable(STRING), "kind": STRING, "level": STRING,
        "status": {"type": "string", "enum": list(DELIVERY_STATUSES)}, "attempts": INTEGER,
        "reason": _nullable(STRING), "created_at": INSTANT, "updated_at": INSTANT, "sent_at": _nullable(INSTANT),
        "not_before": INSTANT}),
    "DeliveryPage": _page_of("deliveries", "Delivery", keyset=True),
    "DeliveryOverview": _object({
        "channels": STRINGS,
        "missing_contacts": {"type": "array", "items": _object({
            "department": STRING, "department_name": _nullable(STRING), "lacks": STRINGS})},
        "counts": COUNTS,
        "wording": {"type": "object", "description": "the dashboard's labels: table -> key -> [zh, en]",
                    "additionalProperties": {"type": "object", "additionalProperties": STRINGS}}}),
}


# ---------------------------------------------------------------- parameters and responses

def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string", "minLength": 1, "maxLength": params.MAX_TEXT}}


def _path(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


PAGE = [_query("limit", "at most this many items (default 100)",
               {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT, "default": 100}),
        _query("offset", "skip this many items", {"type": "integer", "minimum": 0, "maximum": params.MAX_OFFSET,
                                                 "default": 0})]
KEYSET_PAGE = [*PAGE, _query("after", "start after the last item of an earlier page: give that page's `next` "
                                      "(opaque; walks a whole list without offsets; offset then skips from there)",
                             {"type": "string", "minLength": 1, "maxLength": params.MAX_CURSOR,
                              "pattern": params.CURSOR_PATTERN})]


def _json(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _error(description: str) -> dict:
    return _json(description, "Error")


def _responses(ok: dict, *statuses: int, read: bool = True) -> dict:
    """The answer and the errors of one operation: those it names, and those every request can get."""
    described = {
        400: _error("a bad parameter (named in `parameter`): unknown, repeated, empty, malformed or out of range"),
        401: _error("a token is needed and was missing or wrong (WWW-Authenticate: Bearer)"),
        403: _error("writes are disabled (no TRACKER_API_TOKEN on the server) or the token may only read"),
        404: _error("no such item"),
        421: _error("the Host header does not name this server"),
        422: _error("the calendar files could not be loaded; nothing changed"),
        503: _error("this process cannot do it (no calendar to reload)"),
    }
    answers = {"200": ok}
    for status in sorted({*statuses, 400, 401, 421} | ({403} if not read else set())):
        answers[str(status)] = described[status]
    return answers


READ_SECURITY = [{}, {"readToken": []}, {"apiToken": []}]  # open unless the server sets TRACKER_READ_TOKEN
FEED_SECURITY = [*READ_SECURITY, {"feedToken": []}]  # a calendar app sends the read token as ?token=


def _get(summary: str, responses: dict, parameters: list | None = None, operation_id: str = "") -> dict:
    operation = {"summary": summary, "operationId": operation_id, "parameters": parameters or [],
                 "responses": responses, "security": READ_SECURITY}
    return {"get": operation}


def spec(department_codes: Iterable[str] = ()) -> dict:
    codes = list(department_codes)
    department = {"type": "string", "minLength": 1, "maxLength": params.MAX_TEXT, **({"enum": codes} if codes else {})}
    health = {"description": "healthy", "content": {"application/json": {"schema": _ref("Health")}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "catalog-tracker API", "version": "1",
                 "description": "政务数据资源目录时限跟踪 — obligations, deadlines, reminders and violations under "
                                "长沙市雨花区政务数据资源管理暂行办法. " + TIME_NOTE + " " + AUTH_NOTE},
        "paths": {
            "/api/health": _get("liveness, database and worker state; missing_notice: next year's holiday notice "
                                "not loaded (from 1 November), else null", {
                **_responses(health), "503": _json("degraded: a part did not answer (the body says which)",
                                                   "Health")}, operation_id="health"),
            "/healthz": {"get": {
                "summary": "liveness: the process answers HTTP (no dependency is asked); open, like the page",
                "operationId": "liveness", "parameters": [], "security": [{}],
                "responses": _responses(_json("alive", "Liveness"))}},
            "/readyz": {"get": {
                "summary": "readiness: the database answers, and inside a worker the broker accepts connections, "
                           "input partitions are assigned and the lease holder's tick is not late by more than three "
                           "intervals; each check answers within a second; open, like the page",
                "operationId": "readiness", "parameters": [], "security": [{}],
                "responses": {**_responses(_json("ready", "Readiness")),
                              "503": _json("not ready: the failing parts are named", "Readiness")}}},
            "/metrics": _get("Prometheus metrics in the text format (prometheus_client): events consumed by topic and "
                             "outcome, batch apply and tick durations, consumer lag, outbox backlog, relay sends and "
                             "failures, open obligations, deliveries, provisional calendar years; read rules as /api/",
                             _responses({"description": "the Prometheus text exposition format",
                                         "content": {"text/plain": {"schema": {"type": "string"}}}}),
                             operation_id="metrics"),
            "/api/obligations": _get("obligations, filtered, in due-date order", _responses(
                _json("a page of obligations", "ObligationPage")), [
                _query("department", "department code (see /api/departments)", department),
                _query("status", "the obligation's status", {"type": "string", "enum": list(STATUSES)}),
                _query("due_from", "due date on or after (YYYY-MM-DD)", DATE),
                _query("due_to", "due date on or before (YYYY-MM-DD); not before due_from", DATE),
                *KEYSET_PAGE], "listObligations"),
            "/api/obligations/{id}": _get("one obligation with its deadline explanation and history", _responses(
                _json("the obligation", "ObligationDetail"), 404), [
                _path("id", "obligation id", {"type": "string", "minLength": 1, "maxLength": params.MAX_ID})],
                "getObligation"),
            "/api/departments": _get("the department registry (code, name, kind)", _responses(
                {"description": "every department",
                 "content": {"application/json": {"schema": {"type": "array", "items": _ref("Department")}}}}),
                operation_id="listDepartments"),
            "/api/departments/{code}/summary": _get("a department's obligations and violations at a glance",
                                                    _responses(_json("summary", "Summary"), 404),
                                                    [_path("code", "department code", department)],
                                                    "departmentSummary"),
            "/api/departments/{code}/catalog": _get(
                "the department's catalog register (目录台账): each resource with its 第八条 attributes, last "
                "aggregation, next deadline and the warning state of its obligations",
                _responses(_json("the register", "Catalog"), 404), [_path("code", "department code", department)],
                "departmentCatalog"),
            "/api/departments/{code}/resources/{resource_code}": _get(
                "one resource of the register: attributes, history of changes, obligations, violations and the "
                "activities held for it", _responses(_json("the resource", "Resource"), 404), [
                    _path("code", "department code", department),
                    _path("resource_code", "the catalog resource", {"type": "string", "minLength": 1,
                                                                    "maxLength": MAX_RESOURCE_CODE})],
                "resourceDetail"),
            "/api/unmatched": _get("data activities whose resource has not appeared in the register within the "
                                   "policy's wait (still judged if it appears later)", _responses(
                _json("a page of unmatched activities", "UnmatchedPage")), [
                _query("department", "department code (see /api/departments)", department), *KEYSET_PAGE],
                "listUnmatched"),
            "/api/violations": _get("violations detected, newest first", _responses(
                _json("a page of violations", "ViolationPage")), [
                _query("department", "department code (see /api/departments)", department),
                _query("rule", "the rule broken", {"type": "string", "enum": list(RULES)}), *KEYSET_PAGE],
                "listViolations"),
            "/api/unassessed": _get("events outside every policy in force (flagged, never judged)", _responses(
                _json("a page of unassessed events", "UnassessedPage")), KEYSET_PAGE, "listUnassessed"),
            "/api/evaluation/{year}": _get("the yearly evaluation of every department (第二十四条)", _responses(
                _json("evaluation", "Evaluation")), [
                _path("year", "calendar year", {"type": "integer", "minimum": params.YEARS[0],
                                                "maximum": params.YEARS[1]})], "evaluation"),
            "/api/calendar/reload": {"post": {
                "summary": "re-read the holiday notices and reschedule the deadlines they move",
                "operationId": "reloadCalendar", "parameters": [],
                "responses": _responses(_json("what changed", "Reload"), 422, 503, read=False),
                "security": [{"apiToken": []}]}},
            "/api/calendar/reschedule": _get(
                "the newest reschedule job after a calendar change (running or finished): how many open obligations "
                "it queued, examined and moved; null before the first", _responses(
                    _json("the job", "RescheduleState")), operation_id="rescheduleState"),
            "/api/openapi.json": _get("this description", _responses(_json("OpenAPI 3", "OpenApi")),
                                      operation_id="openapi"),
            "/api/evaluation/{year}.xlsx": _get(
                "the yearly evaluation as an Excel workbook (figures, violations by article, the counted obligations, "
                "a chart of the on-time rate by department)", _responses({
                    "description": "the workbook (a download)", "content": {
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                            "schema": {"type": "string", "format": "binary"}}}}, 404),
                [_path("year", "calendar year", {"type": "integer", "minimum": params.YEARS[0],
                                                 "maximum": params.YEARS[1]})], "evaluationWorkbook"),
            "/api/wording": {"get": {
                "summary": "every label the dashboard shows, in Chinese and English (models/wording.py); open, like "
                           "the page itself (it holds no data)",
                "operationId": "wording", "parameters": [], "security": [{}],
                "responses": _responses(_json("label tables: {table: {key: [zh, en]}}", "Wording"))}},
            "/api/asyncapi.json": _get("the AsyncAPI 3.0 document of every topic, with a JSON Schema (draft 2020-12) "
                                       "of each event type's data", _responses(_json("AsyncAPI 3.0", "AsyncApi")),
                                       operation_id="asyncapi"),
            # delivery to people (issue 14)
            "/api/departments/{code}/deadlines.ics": {"get": {
                "summary": "the department's open deadlines as an iCalendar feed (RFC 5545): one all-day event "
                           "per obligation on its due date, alarms at the reminder stages, UID = obligation id",
                "operationId": "deadlinesIcs", "security": FEED_SECURITY,
                "parameters": [_path("code", "department code", department)],  # ?token=: the feedToken scheme
                "responses": _responses({"description": "the feed",
                                         "content": {"text/calendar": {"schema": {"type": "string"}}}}, 404)}},
            "/api/delivery": _get("delivery: channels configured, departments without contacts, log counts by status",
                                  _responses(_json("the overview", "DeliveryOverview")),
                                  operation_id="deliveryOverview"),
            "/api/deliveries": _get("the delivery log: one row per (notification, channel, recipient), newest first",
                                    _responses(_json("a page of deliveries", "DeliveryPage")), [
                _query("obligation_id", "obligation id", {"type": "string", "minLength": 1,
                                                          "maxLength": params.MAX_ID}),
                _query("notification_id", "rm-… or vi-…", {"type": "string", "minLength": 1,
                                                           "maxLength": params.MAX_ID}),
                _query("department", "department code (see /api/departments)", department),
                _query("status", "the delivery's status", {"type": "string", "enum": list(DELIVERY_STATUSES)}),
                *KEYSET_PAGE], "listDeliveries"),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer",
                             "description": "TRACKER_API_TOKEN: writes (and reads)"},
                "readToken": {"type": "http", "scheme": "bearer",
                              "description": "TRACKER_READ_TOKEN: reads, when the server sets it"},
                "feedToken": {"type": "apiKey", "in": "query", "name": "token",
                              "description": "TRACKER_READ_TOKEN in the URL of a calendar feed (….ics), for "
                                             "calendar apps that cannot send a header; Authorization wins"},
            },
        },
    }


async def openapi(request: web.Request) -> web.Response:
    params.only(request)
    return json_response(spec(d.code for d in context_of(request).registry))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi)
