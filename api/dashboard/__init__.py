"""The dashboard: static pages served by the tracker's HTTP service.

The page reads only the HTTP API (``/api/...``) and polls it, so it shows the
same state as any other API client and updates without a full reload. This
module only serves the files; the API app includes it with one line::

    register_dashboard(app)

Routes: ``/`` and ``/dashboard`` (the page), ``/dashboard/static/<file>``
(script, style sheet). Nothing here touches the database.
"""
from __future__ import annotations

import re
from html import escape
from pathlib import Path

from aiohttp import web

from models import wording

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = STATIC_DIR / "index.html"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def page() -> str:
    """The page with its ``{{label}}`` placeholders filled in Chinese (``models.wording``): what shows before the
    script runs; the script then takes every word from ``GET /api/wording``."""
    return _PLACEHOLDER.sub(lambda m: escape(wording.zh(wording.DASHBOARD, m.group(1))),
                            INDEX.read_text(encoding="utf-8"))


async def _index(request: web.Request) -> web.Response:
    # no-cache: a restarted tracker with a newer page must not be hidden by the browser's copy
    return web.Response(text=page(), content_type="text/html", headers={"Cache-Control": "no-cache"})


def register_dashboard(app: web.Application) -> None:
    """Add the dashboard's routes to the tracker's aiohttp application."""
    app.router.add_get("/", _index)
    app.router.add_get("/dashboard", _index)
    app.router.add_static("/dashboard/static/", STATIC_DIR, append_version=False)


# ``api.app`` includes every module in ROUTE_MODULES by calling its ``setup(app)``.
setup = register_dashboard
