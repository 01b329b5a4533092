"""The aiohttp application: JSON API for dashboards (and, later, the dashboard page).

Routes live in modules listed in ``ROUTE_MODULES``; each has ``setup(app)``.
A new page or group of routes is a new module added to that list.
"""
from __future__ import annotations

import importlib
import logging
from typing import Iterable

from aiohttp import web

from api.context import CONTEXT, ApiContext
from api.jsonio import ApiError, json_response

log = logging.getLogger(__name__)

# api.exports first: its /api/evaluation/{year}.xlsx would otherwise be taken by api.routes' /api/evaluation/{year}.
ROUTE_MODULES: tuple[str, ...] = ("api.exports", "api.routes", "api.catalog", "api.openapi", "api.dashboard", "api.ics",
                                  "api.deliveries", "api.asyncapi")


@web.middleware
async def json_errors(request: web.Request, handler):
    """Every error as JSON: ours (ApiError), aiohttp's (404, 405) and unexpected ones (500)."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json" or not request.path.startswith("/api/"):
            raise
        return json_response({"error": exc.reason, "status": exc.status}, status=exc.status)
    except Exception:  # noqa: BLE001 - a bug must answer JSON 500, not an HTML page
        log.exception("error answering %s %s", request.method, request.path)
        return json_response({"error": "internal error", "status": 500}, status=500)


def build_api(context: ApiContext, route_modules: Iterable[str] = ROUTE_MODULES) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[CONTEXT] = context
    for name in route_modules:
        importlib.import_module(name).setup(app)
    return app
