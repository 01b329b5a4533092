"""Health and probes: ``GET /api/health`` (the state, for people), ``GET /healthz`` (liveness), ``GET /readyz``.

- ``/healthz``: the process answers. It touches nothing else, so a database outage never makes an
  orchestrator restart a worker that is only waiting for it.
- ``/readyz``: the database answers, the broker accepts connections (inside a worker), the worker has input
  partitions assigned and, on the lease holder, the tick is not late by more than three intervals; 503 with
  the failing parts named (``failing``) otherwise.
- ``/api/health``: the database, next year's holiday notice, the worker's counters; 503 ``degraded`` naming
  the cause.

Every check has a deadline (``CHECK_SECONDS``): a database that hangs (a stalled connection, a held lock)
makes the answer say which part did not answer, within a second (``api.bounded``, and the statement and
lock timeouts of ``models.sql.gauges.bounded_session``). The probes are open like ``/api/wording``
(no token: they hold no data); the Host check applies as everywhere.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

from aiohttp import web

from api import params
from api.bounded import NoAnswer, OneAtATime
from api.context import context_of
from api.jsonio import json_response
from models.sql import gauges, queries

T = TypeVar("T")

CHECK_SECONDS = 0.8  # each check's deadline: the answer comes within a second whatever hangs
DATABASE = "database"
BROKER = "broker"
PARTITIONS = "partitions"
TICK = "tick"


class Checks:
    """One ``OneAtATime`` per dependency, kept on the app: a hung database costs one waiting thread."""

    def __init__(self):
        self.database = OneAtATime(DATABASE)


CHECKS = web.AppKey("catalog_tracker_checks", Checks)


def checks_of(app: web.Application) -> Checks:
    return app[CHECKS]


def setup(app: web.Application) -> None:
    app[CHECKS] = Checks()
    app.router.add_get("/api/health", health)
    app.router.add_get("/healthz", healthz)  # open: api.security.PROBE_PATHS
    app.router.add_get("/readyz", readyz)


async def read_within(request: web.Request, query: Callable[..., T], *args: Any, seconds: float = CHECK_SECONDS,
                      **kwargs: Any) -> T:
    """``query(session, *args, **kwargs)`` on a bounded session; ``NoAnswer`` after ``seconds``."""
    context = context_of(request)

    def run() -> T:
        with gauges.bounded_session(context.engine, seconds) as session:
            return query(session, *args, **kwargs)

    return await asyncio.to_thread(checks_of(request.app).database.run, run, timeout=seconds)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, NoAnswer):
        return f"no answer: {exc}"
    text = " ".join(str(exc).split())[:300]
    return f"error: {type(exc).__name__}: {text}"


async def health(request: web.Request) -> web.Response:
    params.only(request)
    context = context_of(request)
    body: dict = {"status": "ok", "now": context.clock.now()}

    def database(session):
        gauges.select_one(session)
        return queries.missing_notice(session, body["now"], calendar=context.calendar)

    try:
        body["missing_notice"] = await read_within(request, database)
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the health check
        body.update(status="degraded", database=_failure(exc))
        if isinstance(exc, NoAnswer):
            body["not_answering"] = [DATABASE]
    if context.worker_status is not None:
        body["worker"] = context.worker_status()
        if body["worker"].get("degraded"):  # the stream or the relay is held by an outage
            body.update(status="degraded", causes=body["worker"]["degraded"])
    return json_response(body, status=200 if body["status"] == "ok" else 503)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: this process answers HTTP (nothing else is asked)."""
    params.only(request)
    return json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    params.only(request)
    context = context_of(request)
    checks: dict[str, str] = {}

    async def database() -> None:
        try:
            await read_within(request, gauges.select_one)
            checks[DATABASE] = "ok"
        except Exception as exc:  # noqa: BLE001 - named in the answer
            checks[DATABASE] = _failure(exc)

    async def broker() -> None:
        checks[BROKER] = await broker_reachable(context.broker_servers, CHECK_SECONDS)

    await asyncio.gather(database(), *([broker()] if context.broker_servers else []))
    if context.worker_status is not None:
        checks.update(worker_readiness(context.worker_status()))
    failing = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "not ready" if failing else "ready", "failing": failing, "checks": checks}
    return json_response(body, status=503 if failing else 200)


def worker_readiness(status: dict) -> dict[str, str]:
    """Partitions assigned and, on the lease holder, a tick that is not late (from ``Worker.status()``)."""
    found: dict[str, str] = {}
    assigned = status.get("partitions_assigned")
    if assigned is not None:
        found[PARTITIONS] = "ok" if assigned > 0 else "no input partition assigned (yet)"
    scheduler = status.get("scheduler") or {}
    late = scheduler.get("late_seconds")
    if status.get("relay_lease_holder"):
        found[TICK] = "ok" if late is None else (
            f"late: no tick for {late:.0f} s on the lease holder (one every {scheduler.get('tick_seconds')} s)")
    return found


async def broker_reachable(servers: str, seconds: float) -> str:
    """"ok" when one of the bootstrap servers accepts a TCP connection within ``seconds``, else why not."""
    addresses = [server.strip().rsplit(":", 1) for server in servers.split(",") if server.strip()]
    failures: list[str] = []

    async def connect(host: str, port: str) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), seconds)
        except asyncio.TimeoutError:
            failures.append(f"{host}:{port} did not answer within {seconds:g} s")
            return False
        except (OSError, ValueError) as exc:
            failures.append(f"{host}:{port}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc))
            return False
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), seconds)
        except Exception:  # noqa: BLE001 - connected is what counts
            pass
        return True

    results = await asyncio.gather(*(connect(*address) for address in addresses if len(address) == 2))
    if any(results):
        return "ok"
    return "unreachable: " + ("; ".join(failures) or f"no host:port in {servers!r}")
