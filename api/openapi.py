"""``GET /api/openapi.json``: an OpenAPI 3 description of the JSON routes.

Kept beside the routes as data; a test checks that every route registered
under /api/ is described here and every described path is served.
"""
from __future__ import annotations

from aiohttp import web

from api.jsonio import json_response

TIME_NOTE = "Every timestamp is RFC 3339 with offset +08:00 (Asia/Shanghai); dates are ISO 8601."


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


PAGE = [_query("limit", "at most this many items (1-1000, default 100)", {"type": "integer", "minimum": 1,
                                                                            "maximum": 1000}),
        _query("offset", "skip this many items", {"type": "integer", "minimum": 0})]
ERROR = {"description": "bad parameter or not found: {\"error\": reason, \"status\": code}",
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


def spec() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "catalog-tracker API", "version": "1",
                 "description": "政务数据资源目录时限跟踪 — obligations, deadlines, reminders and violations under "
                                "长沙市雨花区政务数据资源管理暂行办法. " + TIME_NOTE},
        "paths": {
            "/api/health": {"get": {"summary": "liveness, database and worker state; missing_notice: next year's "
                                               "holiday notice not loaded (from 1 November), else null",
                                    "responses": {"200": _ok("healthy"), "503": _ok("database unreachable")}}},
            "/api/obligations": {"get": {
                "summary": "obligations, filtered",
                "parameters": [
                    _query("department", "department code"),
                    _query("status", "open, completed, overdue or cancelled",
                           {"type": "string", "enum": ["open", "completed", "overdue", "cancelled"]}),
                    _query("due_from", "due date on or after (YYYY-MM-DD)", {"type": "string", "format": "date"}),
                    _query("due_to", "due date on or before (YYYY-MM-DD)", {"type": "string", "format": "date"}),
                    *PAGE],
                "responses": {"200": _ok("a page of obligations"), "400": ERROR}}},
            "/api/obligations/{id}": {"get": {
                "summary": "one obligation with its deadline explanation and history",
                "parameters": [_path("id", "obligation id")],
                "responses": {"200": _ok("the obligation"), "404": ERROR}}},
            "/api/departments": {"get": {"summary": "the department registry (code, name, kind)",
                                         "responses": {"200": _ok("departments")}}},
            "/api/departments/{code}/summary": {"get": {
                "summary": "a department's obligations and violations at a glance",
                "parameters": [_path("code", "department code")],
                "responses": {"200": _ok("summary"), "404": ERROR}}},
            "/api/departments/{code}/catalog": {"get": {
                "summary": "the department's catalog register (目录台账): each resource with its 第八条 attributes, "
                           "last aggregation, next deadline and the warning state of its obligations",
                "parameters": [_path("code", "department code")],
                "responses": {"200": _ok("{resources, total, removed, held, unmatched, as_of}"), "404": ERROR}}},
            "/api/departments/{code}/resources/{resource_code}": {"get": {
                "summary": "one resource of the register: attributes, history of changes, obligations, violations "
                           "and the activities held for it",
                "parameters": [_path("code", "department code"), _path("resource_code", "the catalog resource")],
                "responses": {"200": _ok("the resource"), "400": ERROR, "404": ERROR}}},
            "/api/unmatched": {"get": {
                "summary": "data activities whose resource has not appeared in the register within the policy's wait",
                "parameters": [_query("department", "department code"), *PAGE],
                "responses": {"200": _ok("a page of unmatched activities"), "400": ERROR}}},
            "/api/violations": {"get": {
                "summary": "violations detected",
                "parameters": [_query("department", "department code"),
                               _query("rule", "e.g. overdue, share-scope-narrowed, sensitive-data-opened, "
                                              "unauthorised-channel, closed-data-opened"), *PAGE],
                "responses": {"200": _ok("a page of violations"), "400": ERROR}}},
            "/api/unassessed": {"get": {
                "summary": "events outside every policy in force (flagged, never judged)",
                "parameters": PAGE, "responses": {"200": _ok("unassessed events")}}},
            "/api/evaluation/{year}": {"get": {
                "summary": "the yearly evaluation of every department (第二十四条)",
                "parameters": [_path("year", "calendar year", {"type": "integer"})],
                "responses": {"200": _ok("evaluation"), "400": ERROR}}},
            "/api/evaluation/{year}.xlsx": {"get": {
                "summary": "the yearly evaluation as an Excel workbook (figures, violations by article, the counted "
                           "obligations, a chart of the on-time rate by department)",
                "parameters": [_path("year", "calendar year", {"type": "integer"})],
                "responses": {"200": {"description": "the workbook (a download)", "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}}}}, "400": ERROR}}},
            "/api/calendar/reload": {"post": {
                "summary": "re-read the holiday notices and reschedule the deadlines they move",
                "responses": {"200": _ok("{reloaded, rescheduled: number of obligations moved, "
                                         "years_now_official, years_now_provisional}"),
                              "422": ERROR, "503": ERROR}}},
            "/api/openapi.json": {"get": {"summary": "this description", "responses": {"200": _ok("OpenAPI 3")}}},
            "/api/asyncapi.json": {"get": {"summary": "the AsyncAPI 3.0 document of every topic, with a JSON Schema "
                                                      "(draft 2020-12) of each event type's data",
                                           "responses": {"200": _ok("AsyncAPI 3.0")}}},
            # delivery to people (issue 14)
            "/api/departments/{code}/deadlines.ics": {"get": {
                "summary": "the department's open deadlines as an iCalendar feed (RFC 5545): one all-day event "
                           "per obligation on its due date, alarms at the reminder stages, UID = obligation id",
                "parameters": [_path("code", "department code")],
                "responses": {"200": {"description": "text/calendar",
                                      "content": {"text/calendar": {"schema": {"type": "string"}}}},
                              "404": ERROR}}},
            "/api/delivery": {"get": {
                "summary": "delivery: channels configured, departments without contacts, log counts by status",
                "responses": {"200": _ok("{channels, missing_contacts, counts, wording}")}}},
            "/api/deliveries": {"get": {
                "summary": "the delivery log: one row per (notification, channel, recipient), newest first",
                "parameters": [_query("obligation_id", "obligation id"), _query("notification_id", "rm-… or vi-…"),
                               _query("department", "department code"),
                               _query("status", "pending, claimed, sent, failed or skipped",
                                      {"type": "string",
                                       "enum": ["pending", "claimed", "sent", "failed", "skipped"]}), *PAGE],
                "responses": {"200": _ok("a page of deliveries"), "400": ERROR}}},
        },
        "components": {"schemas": {"Error": {
            "type": "object", "required": ["error", "status"],
            "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                           "parameter": {"type": "string"}}}}},
    }


async def openapi(request: web.Request) -> web.Response:
    return json_response(spec())


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi)
