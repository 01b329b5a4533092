"""What the HTTP handlers need, built once by ``config.bootstrap`` and kept on the aiohttp app."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models.ports import Clock

T = TypeVar("T")


@dataclass
class ApiContext:
    engine: Engine
    registry: Any  # models.departments.DepartmentRegistry
    clock: Clock
    tracker: Any = None  # models.service.Tracker (for POST /api/calendar/reload)
    calendar: Any = None  # calendars.LiveCalendar (for POST /api/calendar/reload)
    worker_status: Callable[[], dict] | None = None  # the worker's counters, when the API runs inside it
    public_url: str | None = None  # the dashboard's address as people reach it (links in the .ics feed)
    delivery: dict | None = None  # channels configured and departments without contacts (GET /api/delivery)
    security: Any = field(default_factory=lambda: _default_security())  # api.security.ApiSecurity
    broker_servers: str | None = None  # the Kafka bootstrap servers, when the API runs inside a worker (/readyz)
    metrics: Any = None  # the process's prometheus_client CollectorRegistry (streams.instruments), for /metrics

    async def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking ``models.sql.queries`` function with a fresh session, off the event loop."""

        def run() -> T:
            with Session(self.engine) as session:
                return query(session, *args, **kwargs)

        return await asyncio.to_thread(run)


def _default_security():
    from api.security import ApiSecurity

    return ApiSecurity()


CONTEXT = web.AppKey("catalog_tracker_context", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]
