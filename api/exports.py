"""Downloads: ``GET /api/evaluation/{year}.xlsx``, the yearly evaluation as an Excel workbook.

The same report as ``GET /api/evaluation/{year}`` and ``catalog-tracker report
evaluation YEAR --xlsx`` (``models.exports.evaluation_workbook``), read in one session
off the event loop. Listed before ``api.routes`` in ``ROUTE_MODULES``: that
module's ``/api/evaluation/{year}`` would also match ``2025.xlsx``.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from api import params
from api.context import context_of
from models.exports.evaluation_workbook import CONTENT_TYPE, applied_policies, workbook_bytes
from models.sql import queries


def setup(app: web.Application) -> None:
    app.router.add_get(r"/api/evaluation/{year:\d+}.xlsx", evaluation_xlsx)


async def evaluation_xlsx(request: web.Request) -> web.Response:
    year = params.path_int(request, "year", 2000, 2100)
    context = context_of(request)
    now = context.clock.now()

    def read(session):
        return (queries.evaluation(session, context.registry, year, now=now),
                queries.counted_obligations(session, context.registry, year, now=now))

    report, counted = await context.read(read)
    tracker = context.tracker
    policies = applied_policies(counted, getattr(tracker, "policies", None), year, getattr(tracker, "jurisdiction", None))
    body = await asyncio.to_thread(workbook_bytes, report, counted, policies)
    return web.Response(body=body, content_type=CONTENT_TYPE, headers={
        "Content-Disposition": f'attachment; filename="evaluation-{year}.xlsx"', "Cache-Control": "no-store"})
