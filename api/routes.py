"""The JSON routes dashboards and upstream teams code against (see ``api.openapi`` for the description).

Handlers only parse parameters, call ``models.sql.queries`` off the event loop
and answer JSON; the SQL and the domain's wording live in ``models``.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from api import params
from api.context import context_of
from api.jsonio import ApiError, json_response
from calendars import CalendarError
from models import wording
from models.obligations import STATUSES as OBLIGATION_STATUSES
from models.policy import CONTENT_RULES, OVERDUE
from models.rescheduling import job_state
from models.sql import queries
from models.sql.paging import BadCursor
from models.sql.reschedule import read_reschedule_job

VIOLATION_RULES = (OVERDUE, *CONTENT_RULES)
PAGE_PARAMETERS = params.KEYSET_PAGE_PARAMETERS


def setup(app: web.Application) -> None:
    app.router.add_get("/api/obligations", list_obligations)
    app.router.add_get("/api/obligations/{id}", get_obligation)
    app.router.add_get("/api/departments", list_departments)
    app.router.add_get("/api/departments/{code}/summary", department_summary)
    app.router.add_get("/api/violations", list_violations)
    app.router.add_get("/api/unassessed", list_unassessed)
    app.router.add_get("/api/evaluation/{year}", evaluation)
    app.router.add_post("/api/calendar/reload", reload_calendar)
    app.router.add_get("/api/calendar/reschedule", reschedule_state)
    app.router.add_get("/api/wording", dashboard_wording)  # open: api.security.PUBLIC_API_PATHS


async def dashboard_wording(request: web.Request) -> web.Response:
    """The dashboard's words (``models.wording``): open like the page itself, which needs them for its token form."""
    params.only(request)
    return json_response(wording.dashboard_tables())


async def read_page(context, query, *args, **kwargs):
    """``context.read`` of a list query that takes ``after``: a cursor it does not know is a 400 on ``after``."""
    try:
        return await context.read(query, *args, **kwargs)
    except BadCursor as exc:
        raise ApiError(400, str(exc), parameter="after") from None


def _department_param(request: web.Request, name: str = "department") -> str | None:
    code = params.text(request, name)
    if code is not None and code not in context_of(request).registry:
        raise ApiError(400, f"unknown department {code!r} (see GET /api/departments)", parameter=name)
    return code


async def list_obligations(request: web.Request) -> web.Response:
    params.only(request, "department", "status", "due_from", "due_to", *PAGE_PARAMETERS)
    department = _department_param(request)
    status = params.choice(request, "status", OBLIGATION_STATUSES)
    due_from = params.iso_date(request, "due_from")
    due_to = params.iso_date(request, "due_to")
    if due_from and due_to and due_from > due_to:
        raise ApiError(400, f"due_from ({due_from}) is after due_to ({due_to})", parameter="due_from")
    page = params.keyset_page(request)
    context = context_of(request)
    result = await read_page(context, queries.list_obligations, department=department, status=status, due_from=due_from,
                                due_to=due_to, now=context.clock.now(), calendar=context.calendar,
                                registry=context.registry, **page)
    return json_response(result)


async def get_obligation(request: web.Request) -> web.Response:
    params.only(request)
    obligation_id = params.path_text(request, "id", params.MAX_ID)
    context = context_of(request)
    result = await context.read(queries.get_obligation, obligation_id, now=context.clock.now(),
                                calendar=context.calendar, registry=context.registry)
    if result is None:
        raise ApiError(404, f"no obligation with id {obligation_id!r}", id=obligation_id)
    return json_response(result)


async def list_departments(request: web.Request) -> web.Response:
    params.only(request)
    return json_response(queries.list_departments(context_of(request).registry))


async def department_summary(request: web.Request) -> web.Response:
    params.only(request)
    code = params.path_text(request, "code", params.MAX_TEXT)
    context = context_of(request)
    if code not in context.registry:
        raise ApiError(404, f"unknown department {code!r} (see GET /api/departments)", code=code)
    result = await context.read(queries.department_summary, context.registry, code, context.clock.now(),
                                calendar=context.calendar)
    return json_response(result)


async def list_violations(request: web.Request) -> web.Response:
    params.only(request, "department", "rule", *PAGE_PARAMETERS)
    department = _department_param(request)
    rule = params.choice(request, "rule", VIOLATION_RULES)
    page = params.keyset_page(request)
    context = context_of(request)
    result = await read_page(context, queries.list_violations, department=department, rule=rule,
                                registry=context.registry, **page)
    return json_response(result)


async def list_unassessed(request: web.Request) -> web.Response:
    params.only(request, *PAGE_PARAMETERS)
    page = params.keyset_page(request)
    return json_response(await read_page(context_of(request), queries.list_unassessed, **page))


async def evaluation(request: web.Request) -> web.Response:
    params.only(request)
    year = params.path_int(request, "year", *params.YEARS)
    context = context_of(request)
    return json_response(await context.read(queries.evaluation, context.registry, year, now=context.clock.now()))


async def reload_calendar(request: web.Request) -> web.Response:
    """Re-read the holiday notices; move the deadlines a new notice changes (and say which)."""
    params.only(request)
    context = context_of(request)
    if context.calendar is None or context.tracker is None:
        raise ApiError(503, "this process has no calendar to reload")

    def reload() -> dict:
        before, after = context.calendar.reload()
        result = context.tracker.reschedule_for_calendar(before, after)
        was, now = set(before.provisional_years), set(after.provisional_years)
        return {"reloaded": True, "rescheduled": result.moved, "examined": result.examined,
                "changed_days": result.changed_days, "job": result.job_id,
                "years_now_official": sorted(was - now), "years_now_provisional": sorted(now - was)}

    try:
        return json_response(await asyncio.to_thread(reload))
    except CalendarError as exc:  # a bad notice file: the old calendar stays in force
        raise ApiError(422, f"the calendar files could not be loaded; nothing changed: {exc}") from None


async def reschedule_state(request: web.Request) -> web.Response:
    """The newest reschedule job (running or finished): how far it got."""
    params.only(request)
    job = await context_of(request).read(read_reschedule_job)
    return json_response({"job": job_state(job)})
