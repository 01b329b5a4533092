"""The catalog register's routes: a department's catalog, one resource, and the activities nothing matched.

- ``GET /api/departments/{code}/catalog``: every resource in the register with its 第八条 attributes, when its
  data was last aggregated, its next deadline and the warning state of its obligations;
- ``GET /api/departments/{code}/resources/{resource_code}``: attributes, the history of its changes, its
  obligations, violations and the activities held for it;
- ``GET /api/unmatched``: data activities whose resource has not appeared in the register within the policy's
  wait (they are still judged if it appears later).

Handlers parse parameters and call ``models.sql.catalog_queries`` off the event loop, like ``api.routes``.
"""
from __future__ import annotations

from aiohttp import web

from api import params
from api.context import context_of
from api.jsonio import ApiError, json_response
from api.routes import PAGE_PARAMETERS, _department_param, read_page
from models.events import MAX_ID as MAX_RESOURCE_CODE  # the contract's limit for a resource code
from models.sql import catalog_queries



def setup(app: web.Application) -> None:
    app.router.add_get("/api/departments/{code}/catalog", department_catalog)
    app.router.add_get("/api/departments/{code}/resources/{resource_code:.+}", resource_detail)
    app.router.add_get("/api/unmatched", list_unmatched)


def _known_department(request: web.Request) -> str:
    code = params.path_text(request, "code", params.MAX_TEXT)
    if code not in context_of(request).registry:
        raise ApiError(404, f"unknown department {code!r} (see GET /api/departments)", code=code)
    return code


async def department_catalog(request: web.Request) -> web.Response:
    params.only(request)
    code = _known_department(request)
    context = context_of(request)
    result = await context.read(catalog_queries.department_catalog, context.registry, code, context.clock.now(),
                                calendar=context.calendar)
    return json_response(result)


async def resource_detail(request: web.Request) -> web.Response:
    params.only(request)
    code = _known_department(request)
    resource_code = params.path_text(request, "resource_code", MAX_RESOURCE_CODE)
    context = context_of(request)
    result = await context.read(catalog_queries.resource_detail, context.registry, code, resource_code,
                                context.clock.now(), calendar=context.calendar)
    if result is None:
        raise ApiError(404, f"no resource {resource_code!r} in the register of {code!r}", code=code,
                       resource_code=resource_code)
    return json_response(result)


async def list_unmatched(request: web.Request) -> web.Response:
    params.only(request, "department", *PAGE_PARAMETERS)
    department = _department_param(request)
    page = params.keyset_page(request)
    context = context_of(request)
    return json_response(await read_page(context, catalog_queries.list_unmatched, context.clock.now(),
                                         department=department, **page))
