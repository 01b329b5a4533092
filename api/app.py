"""The aiohttp application: the JSON API and the dashboard page.

Routes live in modules listed in ``ROUTE_MODULES``; each has ``setup(app)``.
A new page or group of routes is a new module added to that list. Every
request passes the Host check and the credentials check (``api.security``);
every answer carries its security headers; every error is JSON.
"""
from __future__ import annotations

import importlib
import logging
from typing import Iterable

from aiohttp import hdrs, web

from api.context import CONTEXT, ApiContext
from api.jsonio import ApiError, json_response
from api.security import PROTOCOL_LOG, add_security_headers, check_credentials, check_host, hide_server_version

log = logging.getLogger(__name__)

# api.exports first: its /api/evaluation/{year}.xlsx would otherwise be taken by api.routes' /api/evaluation/{year}.
ROUTE_MODULES: tuple[str, ...] = ("api.exports", "api.routes", "api.catalog", "api.openapi", "api.dashboard",
                                  "api.ics", "api.deliveries", "api.asyncapi", "api.probes", "api.metrics")


@web.middleware
async def json_errors(request: web.Request, handler):
    """Every error as JSON: ours (ApiError), aiohttp's (404, 405 with Allow, 413 …) and unexpected ones (500)."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPMethodNotAllowed as exc:
        allowed = sorted(exc.allowed_methods)
        response = json_response({"error": f"{request.method} is not allowed on this path; allowed: "
                                           f"{', '.join(allowed)}", "status": 405, "allowed": allowed}, status=405)
        response.headers[hdrs.ALLOW] = ", ".join(allowed)
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return json_response({"error": exc.reason, "status": exc.status}, status=exc.status)
    except Exception:  # noqa: BLE001 - a bug must answer JSON 500, not an HTML page
        log.exception("error answering %s %s", request.method, request.path)
        return json_response({"error": "internal error", "status": 500}, status=500)


def build_api(context: ApiContext, route_modules: Iterable[str] = ROUTE_MODULES) -> web.Application:
    hide_server_version()
    app = web.Application(middlewares=[json_errors, check_host, check_credentials],
                          handler_args={"logger": PROTOCOL_LOG})
    app[CONTEXT] = context
    app.on_response_prepare.append(add_security_headers)
    for name in route_modules:
        importlib.import_module(name).setup(app)
    return app
