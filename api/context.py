"""What the HTTP handlers need, built once by ``config.bootstrap`` and kept on the aiohttp app."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
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

    async def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking ``models.sql.queries`` function with a fresh session, off the event loop."""

        def run() -> T:
            with Session(self.engine) as session:
                return query(session, *args, **kwargs)

        return await asyncio.to_thread(run)


CONTEXT = web.AppKey("catalog_tracker_context", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]
