"""The one place that builds concrete parts from ``Settings``.

Nothing is built at import time anywhere else. The models part:

- ``build_engine(settings)``: the SQL engine, schema migrated to the newest revision;
- ``build_tracker(settings, clock=None, engine=None)``: the ``models.service.Tracker``
  on SQL, the live working-day calendar, the policy files and the department registry;
- ``build_outbox(settings, engine=None)``: what the outbox relay and the lease use;
- ``build_models(settings, clock=None, calendar=None)``: all of the above sharing one engine.

Policy or registry mistakes raise here (``PolicyError`` / ``RegistryError``,
naming file and line), so a worker stops at start instead of judging with them.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from config.settings import Settings
from models.clock import clock_from_spec
from models.ports import Clock
from models.departments import DepartmentRegistry, load_registry
from models.sql.migrate import upgrade
from models.sql.outbox import Outbox
from models.policy import PolicySet, load_policies
from models.sql.repository import sql_unit_of_work_factory
from streams.topics import topic_of_type
from models.service import Tracker
from models.sql.engine import create_engine


def build_engine(settings: Settings) -> Engine:
    engine = create_engine(settings.database_url)
    upgrade(engine)
    return engine


def build_calendar(settings: Settings):
    from calendars import LiveCalendar

    return LiveCalendar(settings.calendar_dir, settings.jurisdiction)


def build_policies(settings: Settings) -> PolicySet:
    return load_policies(settings.policy_dir)


def build_registry(settings: Settings) -> DepartmentRegistry:
    return load_registry(settings.departments_file)


def build_tracker(settings: Settings, clock: Clock | None = None, engine: Engine | None = None,
                  calendar=None) -> Tracker:
    engine = engine if engine is not None else build_engine(settings)
    return Tracker(
        sql_unit_of_work_factory(engine, topic_of_type),
        calendar if calendar is not None else build_calendar(settings),
        build_policies(settings),
        build_registry(settings),
        clock if clock is not None else clock_from_spec(settings.clock),
        jurisdiction=settings.jurisdiction,
        reminder_time=settings.reminder_time,
    )


def build_outbox(settings: Settings, engine: Engine | None = None) -> Outbox:
    return Outbox(engine if engine is not None else build_engine(settings))


@dataclass
class ModelParts:
    engine: Engine
    tracker: Tracker
    outbox: Outbox


def build_models(settings: Settings, clock: Clock | None = None, calendar=None) -> ModelParts:
    engine = build_engine(settings)
    return ModelParts(engine=engine, tracker=build_tracker(settings, clock, engine, calendar), outbox=Outbox(engine))


# ---------------------------------------------------------------- streams and API part (owner: streams)

def build_api_context(settings: Settings, *, clock: Clock | None = None, parts: "ModelParts | None" = None,
                      calendar=None, worker_status=None):
    """What the HTTP API needs; ``parts``/``calendar`` shared with a worker when the API runs inside it."""
    from api.context import ApiContext

    clock = clock if clock is not None else clock_from_spec(settings.clock)
    if parts is None:
        calendar = calendar if calendar is not None else build_calendar(settings)
        parts = build_models(settings, clock, calendar)
    return ApiContext(engine=parts.engine, registry=parts.tracker.registry, clock=clock, tracker=parts.tracker,
                      calendar=calendar if calendar is not None else parts.tracker.calendar,
                      worker_status=worker_status)


def build_worker(settings: Settings, *, with_api: bool = True, clock: Clock | None = None):
    """The worker process: Faust agent, scheduler, outbox relay and (unless ``with_api`` is false) the API."""
    from api.app import build_api
    from streams.worker import Worker, WorkerParts

    clock = clock if clock is not None else clock_from_spec(settings.clock)
    calendar = build_calendar(settings)
    parts = build_models(settings, clock, calendar)

    def api_app(worker):
        return build_api(build_api_context(settings, clock=clock, parts=parts, calendar=calendar,
                                           worker_status=worker.status))

    return Worker(WorkerParts(settings=settings, tracker=parts.tracker, outbox=parts.outbox, clock=clock,
                              api_app=api_app if with_api else None, calendar=calendar), with_api=with_api)
