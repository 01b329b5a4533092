"""The dashboard: static pages served by the tracker's HTTP service.

The page reads only the HTTP API (``/api/...``) and polls it, so it shows the
same state as any other API client and updates without a full reload. This
module only serves the files; the API app includes it with one line::

    register_dashboard(app)

Routes: ``/`` and ``/dashboard`` (the page), ``/dashboard/static/<file>``
(script, style sheet). Nothing here touches the database.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = STATIC_DIR / "index.html"


async def _index(request: web.Request) -> web.FileResponse:
    # no-cache: a restarted tracker with a newer page must not be hidden by the browser's copy
    return web.FileResponse(INDEX, headers={"Cache-Control": "no-cache"})


def register_dashboard(app: web.Application) -> None:
    """Add the dashboard's routes to the tracker's aiohttp application."""
    app.router.add_get("/", _index)
    app.router.add_get("/dashboard", _index)
    app.router.add_static("/dashboard/static/", STATIC_DIR, append_version=False)


# ``api.app`` includes every module in ROUTE_MODULES by calling its ``setup(app)``.
setup = register_dashboard
