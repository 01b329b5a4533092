"""Delivery on the dashboard: which channels are configured, who has no contacts, what could not be delivered.

- ``GET /api/delivery``: channels configured, departments without contacts (the roles they lack),
  counts of the delivery log by status, and the labels the dashboard shows (``models.wording``).
- ``GET /api/deliveries``: a page of the delivery log, newest first, filtered by obligation, notification, department
  or status; ``next``/``after`` walk it page by page.
"""
from __future__ import annotations

from aiohttp import web

from api import params
from api.context import context_of
from api.jsonio import ApiError, json_response
from api.routes import read_page
from models import wording
from models.delivery import DELIVERY_STATUSES
from models.sql import deliveries


def setup(app: web.Application) -> None:
    app.router.add_get("/api/delivery", delivery_overview)
    app.router.add_get("/api/deliveries", list_deliveries)


async def delivery_overview(request: web.Request) -> web.Response:
    params.only(request)
    context = context_of(request)
    overview = getattr(context, "delivery", None) or {"channels": [], "missing_contacts": []}
    counts = await context.read(deliveries.delivery_counts)
    labels = {name: {key: list(pair) for key, pair in table.items()} for name, table in (
        ("labels", wording.DELIVERY_LABELS), ("statuses", wording.DELIVERY_STATUSES),
        ("channels", wording.CHANNELS), ("levels", wording.LEVELS), ("roles", wording.ROLES))}
    missing = [{"department": code, "department_name": context.registry.name_of(code) if code != "-" else None,
                "lacks": list(roles)} for code, roles in overview["missing_contacts"]]
    return json_response({"channels": overview["channels"], "missing_contacts": missing,
                          "counts": {status: counts.get(status, 0) for status in DELIVERY_STATUSES},
                          "wording": labels})


async def list_deliveries(request: web.Request) -> web.Response:
    params.only(request, "obligation_id", "notification_id", "department", "status", *params.KEYSET_PAGE_PARAMETERS)
    context = context_of(request)
    department = params.text(request, "department")
    if department is not None and department not in context.registry:
        raise ApiError(400, f"unknown department {department!r} (see GET /api/departments)", parameter="department")
    filters = {"obligation_id": params.text(request, "obligation_id", params.MAX_ID),
               "notification_id": params.text(request, "notification_id", params.MAX_ID),
               "status": params.choice(request, "status", DELIVERY_STATUSES), "department": department}
    return json_response(await read_page(context, deliveries.list_deliveries, **filters, **params.keyset_page(request)))
