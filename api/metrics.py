"""``GET /metrics``: the Prometheus text format (``prometheus_client``), for operators' scrapers.

Two registries, neither the library's global one (so each process and each test counts alone):

- the process's (``ApiContext.metrics``, built by ``config.bootstrap`` inside a worker): what ingest, the
  relay, the tick and the delivery runner count (``streams.instruments``), and the consumer lag;
- the app's own, built here: gauges read at scrape time from SQL (the outbox backlog and its oldest row's
  age, unfinished obligations by kind and status, the delivery log by channel and status) and from the
  calendar (provisional years).

The SQL gauges are one bounded read (``CHECK_SECONDS``, one at a time, as the health checks): a database
that hangs or is locked never hangs the scrape; ``catalog_tracker_database_answered`` says 0 and the SQL
gauges are left out of that scrape (no stale figures). ``/metrics`` follows the read rules of ``/api/``
(``api.security.READ_PATHS``).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from api import params
from api.bounded import OneAtATime
from api.context import CONTEXT, ApiContext, context_of
from api.probes import CHECK_SECONDS, checks_of
from models.sql import gauges

log = logging.getLogger(__name__)

PREFIX = "catalog_tracker"
SCRAPE_REGISTRY = web.AppKey("catalog_tracker_scrape_registry", CollectorRegistry)


def setup(app: web.Application) -> None:
    """After ``api.probes`` (its checks are shared: one waiting thread per hung database, not two)."""
    context = app[CONTEXT]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SqlGaugesCollector(context, checks_of(app).database))
    registry.register(CalendarCollector(context.calendar))
    app[SCRAPE_REGISTRY] = registry
    app.router.add_get("/metrics", metrics)


async def metrics(request: web.Request) -> web.Response:
    params.only(request)
    context = context_of(request)
    body = await asyncio.to_thread(render, context.metrics, request.app[SCRAPE_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def render(*registries: CollectorRegistry | None) -> bytes:
    """The text format of every registry given (their metric names do not overlap)."""
    return b"".join(generate_latest(registry) for registry in registries if registry is not None)


class SqlGaugesCollector(Collector):
    """The gauges SQL knows, read once per scrape within ``seconds`` (``models.sql.gauges``)."""

    def __init__(self, context: ApiContext, one_at_a_time: OneAtATime, seconds: float = CHECK_SECONDS):
        self.context = context
        self.one_at_a_time = one_at_a_time
        self.seconds = seconds

    def _read(self) -> gauges.Gauges:
        with gauges.bounded_session(self.context.engine, self.seconds) as session:
            return gauges.gauges(session)

    def collect(self) -> Iterable:
        answered = GaugeMetricFamily(f"{PREFIX}_database_answered", "1 when the database answered this scrape's "
                                     "reads in time (else the SQL gauges are left out)")
        try:
            found = self.one_at_a_time.run(self._read, timeout=self.seconds)
        except Exception as exc:  # noqa: BLE001 - a scrape never fails for the database: it says so
            log.warning("metrics: the SQL gauges were not read (%s)", exc)
            answered.add_metric([], 0)
            yield answered
            return
        answered.add_metric([], 1)
        yield answered
        yield from sql_families(found, self.context.clock.now())


def sql_families(found: gauges.Gauges, now: Any) -> Iterable:
    pending = GaugeMetricFamily(f"{PREFIX}_outbox_pending", "Outbox rows not yet acknowledged by the broker")
    pending.add_metric([], found.outbox_pending)
    yield pending
    age = GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_age_seconds", "Age of the oldest outbox row not yet "
                            "sent, by the tracker's clock (0 when none waits)")
    oldest = found.outbox_oldest_created_at
    age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
    yield age
    obligations = GaugeMetricFamily(f"{PREFIX}_open_obligations", "Unfinished obligations (open, overdue) by kind "
                                    "and status", labels=["kind", "status"])
    for (kind, status), count in sorted(found.open_obligations.items()):
        obligations.add_metric([kind, status], count)
    yield obligations
    deliveries = GaugeMetricFamily(f"{PREFIX}_delivery_log_rows", "Rows of the delivery log by channel and status "
                                   "(pending, claimed, sent, failed, skipped)", labels=["channel", "status"])
    for (channel, status), count in sorted(found.deliveries.items()):
        deliveries.add_metric([channel, status], count)
    yield deliveries


class CalendarCollector(Collector):
    """The years the working-day calendar counts without their official notice (deadlines there may move)."""

    def __init__(self, calendar: Any):
        self.calendar = calendar

    def collect(self) -> Iterable:
        years = provisional_years(self.calendar)
        count = GaugeMetricFamily(f"{PREFIX}_calendar_provisional_years", "Years counted without their official "
                                  "holiday notice (deadlines in them are provisional)")
        count.add_metric([], len(years))
        yield count
        each = GaugeMetricFamily(f"{PREFIX}_calendar_provisional_year", "1 for each year counted without its "
                                 "official holiday notice", labels=["year"])
        for year in years:
            each.add_metric([str(year)], 1)
        yield each


def provisional_years(calendar: Any) -> tuple[int, ...]:
    if calendar is None:
        return ()
    current = getattr(calendar, "current", calendar)  # calendars.LiveCalendar: its snapshot now
    return tuple(getattr(current, "provisional_years", ()) or ())
