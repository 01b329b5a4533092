"""The one place that builds concrete parts from ``Settings``.

Nothing is built at import time anywhere else. The models part:

- ``build_engine(settings)``: the SQL engine, schema migrated to the newest revision;
- ``build_tracker(settings, clock=None, engine=None)``: the ``models.service.Tracker``
  on SQL, the live working-day calendar, the policy files and the department registry;
- ``build_outbox(settings, engine=None)``: what the outbox relay and the lease use;
- ``build_models(settings, clock=None, calendar=None)``: all of the above sharing one engine;
- ``build_configuration(settings)``: the calendar, policies and registry alone (read before anything connects).

The streams part (imported only when used, so the CLI starts lean):

- ``build_relay`` (outbox -> output topics), ``build_leader`` (the lease holder's tick and relay, with the
  calendar watcher), ``build_ingest`` (Faust app, ingest agent, batch applier);
- ``build_worker(settings)``: all of them and the HTTP API, handed to ``streams.worker.Worker``, which only runs them;
- ``build_api_context(settings)``: what the HTTP API reads, alone or inside a worker.

Policy or registry mistakes raise here (``PolicyError`` / ``RegistryError``,
naming file and line), so a worker stops at start instead of judging with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from models.sql.engine import create_engine, ping


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


@dataclass
class Configuration:
    """What the files under config/ say (calendar, policies, registry, escalation ladder), read before anything
    connects.

    So a mistake in them is reported at once (one line, exit 2), even while the database or the broker is down.
    """

    calendar: Any  # calendars.LiveCalendar
    policies: PolicySet
    registry: DepartmentRegistry
    ladder: Any  # models.escalation.Ladder: who is told of what (config/escalation.yaml)


def build_configuration(settings: Settings) -> Configuration:
    return Configuration(build_calendar(settings), build_policies(settings), build_registry(settings),
                         build_ladder(settings))


def build_tracker(settings: Settings, clock: Clock | None = None, engine: Engine | None = None,
                  calendar=None, configuration: Configuration | None = None) -> Tracker:
    engine = engine if engine is not None else build_engine(settings)
    if configuration is not None:
        calendar = calendar if calendar is not None else configuration.calendar
    return Tracker(
        sql_unit_of_work_factory(engine, topic_of_type),
        calendar if calendar is not None else build_calendar(settings),
        configuration.policies if configuration is not None else build_policies(settings),
        configuration.registry if configuration is not None else build_registry(settings),
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


def build_models(settings: Settings, clock: Clock | None = None, calendar=None,
                 configuration: Configuration | None = None) -> ModelParts:
    engine = build_engine(settings)
    return ModelParts(engine=engine, tracker=build_tracker(settings, clock, engine, calendar, configuration),
                      outbox=Outbox(engine))


# ---------------------------------------------------------------- streams and API part (owner: streams)

def build_api_context(settings: Settings, *, clock: Clock | None = None, parts: "ModelParts | None" = None,
                      calendar=None, worker_status=None, ladder=None, broker_servers: str | None = None,
                      metrics=None):
    """What the HTTP API needs; ``parts``/``calendar`` shared with a worker when the API runs inside it."""
    from api.context import ApiContext

    clock = clock if clock is not None else clock_from_spec(settings.clock)
    if parts is None:
        calendar = calendar if calendar is not None else build_calendar(settings)
        parts = build_models(settings, clock, calendar)
    return ApiContext(engine=parts.engine, registry=parts.tracker.registry, clock=clock, tracker=parts.tracker,
                      calendar=calendar if calendar is not None else parts.tracker.calendar,
                      worker_status=worker_status, public_url=settings.public_url or None,
                      delivery=delivery_overview(settings, parts.tracker.registry, ladder),
                      security=build_api_security(settings), broker_servers=broker_servers, metrics=metrics)


def build_api_security(settings: Settings):
    """The API's tokens and the names its Host header may carry (loopback, the bound address, the setting)."""
    from api.security import ApiSecurity

    return ApiSecurity.for_server(api_token=settings.api_token, read_token=settings.read_token,
                                  extra_hosts=settings.allowed_host_entries(), bind_host=settings.http_host)


def build_relay(settings: Settings, outbox: Outbox, metrics=None):
    """The outbox relay to the output topics (run by the lease holder)."""
    from streams.relay import OutboxRelay
    from streams.topics import OUTPUT_TOPICS, all_topic_names, ensure_topics

    def recreate_topics():  # after a broker reset: every topic, inputs too
        return ensure_topics(settings.kafka_bootstrap_servers, all_topic_names(settings), settings.topic_partitions)

    return OutboxRelay(outbox, settings.kafka_bootstrap_servers, OUTPUT_TOPICS, settings.topic,
                       fetch_max_wait_ms=settings.fetch_max_wait_ms, recreate_topics=recreate_topics,
                       **({"metrics": metrics} if metrics is not None else {}))


def build_leader(settings: Settings, parts: ModelParts, relay, clock: Clock, calendar=None, metrics=None):
    """The lease holder's duties: tick, relay, and (on every worker) the calendar watcher's check."""
    from streams.calendar_watch import CalendarWatcher, DailyNoticeWarning, notice_reader
    from streams.leader import LeaderDuties

    watcher = (CalendarWatcher(calendar, parts.tracker.reschedule_for_calendar,
                               DailyNoticeWarning(clock, notice_reader(parts.engine, calendar)))
               if calendar is not None else None)
    return LeaderDuties(tick=parts.tracker.tick, relay=relay, outbox=parts.outbox, clock=clock,
                        tick_seconds=settings.tick_seconds, on_tick=watcher.check if watcher else None,
                        **({"metrics": metrics} if metrics is not None else {}))


def build_writer(settings: Settings, clock: Clock, calendar):
    """The ingest writer process (``streams.writer``), or None where batches are applied in the worker's own
    process: ``TRACKER_INGEST_WRITER=thread``, or an in-memory SQLite database, which no other process sees."""
    from models.sql.engine import is_in_memory
    from streams.writer import WriterProcess

    if settings.ingest_writer_mode() == "thread" or is_in_memory(settings.database_url):
        return None
    return WriterProcess(settings, clock, calendar)


def build_ingest(settings: Settings, tracker: Tracker, on_applied, *, batch_size: int = 2000,
                 batch_wait: float = 0.05, probe=None, metrics=None, positions=None, writer=None):
    """The Faust app with the ingest agent on the input topics, and the batch applier it feeds (through
    ``writer``, a ``streams.writer.WriterProcess``, when given)."""
    from streams import writer as writers
    from streams.agents import register_ingest_agent
    from streams.app import build_app
    from streams.ingest import BatchApplier
    from streams.topics import input_topic_names, input_types_by_name

    applier = BatchApplier(writer.apply_batch if writer is not None else tracker.apply_batch,
                           on_applied=on_applied, probe=probe,  # probe: does the database answer
                           is_transient=writers.is_transient, describe=writers.describe, cause=writers.cause,
                           **({"metrics": metrics} if metrics is not None else {}))
    app = build_app(settings)
    register_ingest_agent(app, input_topic_names(settings), applier, max_bytes=settings.max_event_bytes,
                          types_of_topic=input_types_by_name(settings), batch_size=batch_size, batch_wait=batch_wait,
                          positions=positions)
    return app, applier


def build_worker(settings: Settings, *, with_api: bool = True, clock: Clock | None = None,
                 configuration: Configuration | None = None):
    """The worker process: Faust app and agent, batch applier, leader's duties, relay and (unless ``with_api`` is
    false) the API, all sharing one engine, clock and calendar (``configuration``: read before, when given)."""
    from api.app import build_api
    from streams.worker import Worker, WorkerParts

    clock = clock if clock is not None else clock_from_spec(settings.clock)
    configuration = configuration if configuration is not None else build_configuration(settings)
    calendar = configuration.calendar
    parts = build_models(settings, clock, calendar, configuration)
    instruments, positions = build_instruments()
    relay = build_relay(settings, parts.outbox, metrics=instruments)
    leader = build_leader(settings, parts, relay, clock, calendar, metrics=instruments)
    writer = build_writer(settings, clock, calendar)
    app, applier = build_ingest(settings, parts.tracker, on_applied=leader.wake, probe=lambda: ping(parts.engine),
                                metrics=instruments, positions=positions, writer=writer)
    watch_consumer_lag(instruments, lambda: getattr(app, "_consumer", None), positions, settings)

    def api_app(worker_status):
        return build_api(build_api_context(settings, clock=clock, parts=parts, calendar=calendar,
                                           worker_status=worker_status, ladder=configuration.ladder,
                                           broker_servers=settings.kafka_bootstrap_servers,
                                           metrics=instruments.registry))

    notifier = build_notifier(settings, engine=parts.engine, clock=clock, registry=parts.tracker.registry,
                              ladder=configuration.ladder, metrics=instruments)
    return Worker(WorkerParts(settings=settings, app=app, applier=applier, leader=leader, relay=relay,
                              api_app=api_app if with_api else None, notifier=notifier, positions=positions,
                              writer=writer))


def build_instruments():
    """The worker's Prometheus instruments on a registry of its own (``GET /metrics``), and the record of what
    was applied per input partition (the consumer lag)."""
    from streams.instruments import ConsumerPositions, PrometheusInstruments

    return PrometheusInstruments(), ConsumerPositions()


def watch_consumer_lag(instruments, consumer, positions, settings: Settings) -> None:
    """The consumer lag per input partition, read at scrape time from ``consumer()`` (the Faust consumer)."""
    from streams.instruments import ConsumerLagCollector
    from streams.topics import input_topic_names

    instruments.registry.register(ConsumerLagCollector(consumer, positions, topics=input_topic_names(settings)))


# ---------------------------------------------------------------- delivery to people (issue 14)

def build_channels(settings: Settings, registry: DepartmentRegistry) -> dict:
    """The channel adapters the settings configure (none: nothing is delivered)."""
    from config.settings import SettingsError
    from delivery.dingtalk import DingTalkChannel
    from delivery.robots import robot_lookup
    from delivery.smtp import SmtpChannel
    from delivery.webhook import WebhookChannel
    from delivery.wecom import WeComChannel
    from models.departments import Robot

    timeout = settings.delivery_timeout
    channels: dict = {}
    if settings.smtp_url:
        try:
            channels["email"] = SmtpChannel(settings.smtp_url, settings.mail_from, timeout=timeout)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    own = {channel: any(d.robot(channel) for d in registry) for channel in ("dingtalk", "wecom")}
    if settings.dingtalk_webhook or own["dingtalk"]:
        district = Robot(settings.dingtalk_webhook, settings.dingtalk_secret or None) if settings.dingtalk_webhook \
            else None
        channels["dingtalk"] = DingTalkChannel(robot_lookup("dingtalk", registry, district), timeout=timeout)
    if settings.wecom_webhook or own["wecom"]:
        district = Robot(settings.wecom_webhook) if settings.wecom_webhook else None
        channels["wecom"] = WeComChannel(robot_lookup("wecom", registry, district), timeout=timeout)
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(settings.webhook_url, settings.webhook_secret or None, timeout=timeout)
    return channels


def build_ladder(settings: Settings, policies: PolicySet | None = None):
    """The escalation ladder, checked against every reminder stage the policies send."""
    from models.escalation import load_ladder

    ladder = load_ladder(settings.escalation_file)
    for policy in (policies or build_policies(settings)).policies:
        ladder.check_stages(policy.reminder_stages, f"policy {policy.id} ({policy.path})")
    return ladder


def build_notifier(settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None,
                   registry: DepartmentRegistry | None = None, ladder=None, metrics=None):
    """The notifier (``streams.notify.Notifier``), or None when no channel is configured."""
    from delivery.runner import DeliveryRunner
    from models import wording
    from models.delivery import Channels, plan
    from models.escalation import missing_contacts
    from models.sql.deliveries import SqlDeliveryLog
    from streams.notify import Notifier
    from streams.topics import UNDELIVERABLE

    registry = registry if registry is not None else build_registry(settings)
    ladder = ladder if ladder is not None else build_ladder(settings)
    adapters = build_channels(settings, registry)
    if not adapters:
        return None
    engine = engine if engine is not None else build_engine(settings)
    clock = clock if clock is not None else clock_from_spec(settings.clock)
    log_port = SqlDeliveryLog(engine, UNDELIVERABLE)
    configured = Channels(email="email" in adapters, dingtalk=bool(settings.dingtalk_webhook),
                          wecom=bool(settings.wecom_webhook), webhook="webhook" in adapters)
    public_url = settings.public_url or None

    def planner(notification, now):
        return plan(notification, ladder=ladder, registry=registry, channels=configured, public_url=public_url,
                    now=now)

    lacking = missing_contacts(registry, ladder)
    notes = [wording.missing_contacts_line(lacking, registry.label)] if lacking else []
    runner = DeliveryRunner(log_port, adapters, ladder, timeout=settings.delivery_timeout,
                            **({"metrics": metrics} if metrics is not None else {}))
    return Notifier(settings, log_port, runner, planner, clock, startup_notes=notes)


def delivery_overview(settings: Settings, registry: DepartmentRegistry, ladder=None) -> dict:
    """What the dashboard shows of delivery: the channels configured, the departments without contacts."""
    from models.escalation import missing_contacts

    channels = [name for name, configured in (
        ("email", settings.smtp_url), ("dingtalk", settings.dingtalk_webhook or any(d.robot("dingtalk") for d in registry)),
        ("wecom", settings.wecom_webhook or any(d.robot("wecom") for d in registry)),
        ("webhook", settings.webhook_url)) if configured]
    ladder = ladder if ladder is not None else build_ladder(settings)
    return {"channels": channels, "missing_contacts": missing_contacts(registry, ladder)}
