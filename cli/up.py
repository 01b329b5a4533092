"""``catalog-tracker up``: the embedded quick start, everything on one machine.

1. starts the bundled broker (Tansu), unless ``KAFKA_BOOTSTRAP_SERVERS`` names one;
2. starts ``catalog-tracker worker`` (processors, scheduler, outbox relay and the
   HTTP API with the dashboard) on SQLite by default (``DATABASE_URL``);
3. once ``GET /api/health`` answers, publishes the demo feed (``streams.demo``)
   so there is something open, due soon and overdue to look at;
4. prints the dashboard and API addresses and runs until Ctrl-C, which stops
   the worker and then the broker.

``up --replay`` plays the demo's weeks through ``catalog-tracker replay``
instead: the demo feed goes to the input topics first, then a fresh worker
follows a simulated clock from the feed's first day to this morning (a day per
second by default), so the dashboard shows obligations opening, reminders
going out and deadlines passing, each at its own moment.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

EXIT_START_FAILED = 1


def register(subparsers) -> None:
    parser = subparsers.add_parser("up", help="quick start: local broker + worker + HTTP API/dashboard + demo feed",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-demo", action="store_true", help="do not publish the demo feed")
    parser.add_argument("--log-file", type=Path, default=Path("var/catalog-tracker-worker.log"),
                        help="where the worker's log goes (default: var/catalog-tracker-worker.log)")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--replay", action="store_true",
                        help="play the demo's weeks through `catalog-tracker replay` (simulated clock) while the "
                             "dashboard watches, instead of judging it all at once on the system clock")
    parser.add_argument("--speed", type=float, default=86400.0,
                        help="with --replay: simulated seconds per real second (default 86400, a day per second)")
    parser.add_argument("--no-mail-catcher", action="store_true",
                        help="do not start the local mail catcher (it starts unless a delivery channel is set, "
                             "e.g. TRACKER_SMTP_URL)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.worker_process import WorkerExited, WorkerProcess
    from config.settings import Settings
    from streams.broker import BrokerError, free_port, port_answers, start_local_broker

    _stop_on_sigterm()
    settings = Settings.from_env()
    env = dict(os.environ)
    broker = None
    catcher = None
    worker = None
    try:
        if port_answers(settings.http_host, settings.http_port):
            if os.environ.get("TRACKER_HTTP_PORT"):
                print(f"catalog-tracker up: {settings.http_host}:{settings.http_port} (TRACKER_HTTP_PORT) is already "
                      "in use; stop what runs there or choose another port", file=sys.stderr)
                return EXIT_START_FAILED
            env["TRACKER_HTTP_PORT"] = str(free_port(settings.http_host))
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            host, _, port_text = settings.kafka_bootstrap_servers.rpartition(":")
            port = int(port_text)
            if port_answers(host or "127.0.0.1", port):
                port = free_port()
            try:
                broker = start_local_broker(port=port, log_file=_in_dir(Path("var/tansu.log")))
            except BrokerError as exc:
                print(f"catalog-tracker up: the bundled broker did not start: {exc}", file=sys.stderr)
                return EXIT_START_FAILED
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
            print(f"broker     本地消息服务 (Tansu)  {broker.bootstrap_servers}", flush=True)
        else:
            print(f"broker     {env['KAFKA_BOOTSTRAP_SERVERS']} (KAFKA_BOOTSTRAP_SERVERS)", flush=True)
        settings = Settings.from_env(env)
        if args.replay:
            return _replay_demo(settings, args.speed)
        _prepare_sqlite(settings.database_url)
        if not args.no_mail_catcher:
            catcher = _mail_catcher(settings, env)

        worker = WorkerProcess(env, args.log_file, host=settings.http_host, port=settings.http_port).start()
        print(f"worker     pid {worker.pid}, log {args.log_file}, database {settings.database_url}", flush=True)
        try:
            worker.wait_healthy(args.startup_timeout, interval=0.2)
        except (WorkerExited, TimeoutError):
            print(f"catalog-tracker up: the worker did not become ready; see {args.log_file}", file=sys.stderr)
            print(worker.log_tail(), file=sys.stderr)
            return EXIT_START_FAILED
        base = worker.base_url
        if not args.no_demo:
            count = _publish_demo(settings, lambda n: _wait_applied(worker, n))
            print(f"demo       {count} 条演示事件已发布 / demo events published (one of them deliberately invalid)",
                  flush=True)
        print(f"\n仪表盘 Dashboard   {base}/\nAPI               {base}/api/health  ·  {base}/api/openapi.json\n"
              "按 Ctrl-C 停止 / press Ctrl-C to stop", flush=True)
        status = worker.wait()
        print(f"catalog-tracker up: the worker exited with status {status}; see {args.log_file}", file=sys.stderr)
        return status or EXIT_START_FAILED
    except KeyboardInterrupt:
        print("\nstopping …", file=sys.stderr, flush=True)
        return 0
    finally:
        if worker is not None:
            worker.stop()
        if catcher is not None:
            catcher.stop()
        if broker is not None:
            broker.stop()


DELIVERY_VARIABLES = ("TRACKER_SMTP_URL", "TRACKER_DINGTALK_WEBHOOK", "TRACKER_WECOM_WEBHOOK", "TRACKER_WEBHOOK_URL")


def _mail_catcher(settings, env: dict):
    """A local mail catcher (aiosmtpd) the worker's reminders and violations go to, unless a channel is set."""
    from delivery.catcher import start_mail_catcher
    from streams.broker import free_port

    configured = [name for name in DELIVERY_VARIABLES if env.get(name)]
    if configured:
        print(f"delivery   {', '.join(configured)} (from the environment)", flush=True)
        return None
    catcher = start_mail_catcher(free_port(), lambda line: print(line, flush=True))
    if catcher is None:
        print("delivery   no mail catcher (aiosmtpd is not installed: `make install` adds it); to see the mails, "
              "run one and set TRACKER_SMTP_URL=smtp://127.0.0.1:1025", flush=True)
        return None
    env["TRACKER_SMTP_URL"] = catcher.url
    env.setdefault("TRACKER_PUBLIC_URL", f"http://{settings.http_host}:{env.get('TRACKER_HTTP_PORT', settings.http_port)}")
    print(f"mail       本地邮件接收器 / local mail catcher {catcher.url}: one line per mail delivered", flush=True)
    return catcher


def _replay_demo(settings, speed: float) -> int:
    """Publish the demo feed to the input topics, then replay it from its first day to today."""
    from cli.replay import replay_topics
    from models.clock import SHANGHAI, clock_from_spec
    from streams.demo import demo_feed_for, publish_feed
    from streams.publisher import EventPublisher
    from streams.topics import ensure_topics, input_topic_names

    today = clock_from_spec(settings.clock).now().astimezone(SHANGHAI).date()
    feed = demo_feed_for(settings, today)
    from datetime import timedelta

    first_day = min(ev_time(message.event) for message in feed if message.event is not None).date()
    ensure_topics(settings.kafka_bootstrap_servers, input_topic_names(settings), settings.topic_partitions)
    with EventPublisher(settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix,
                        max_bytes=settings.max_event_bytes) as publisher:
        publish_feed(publisher, feed)
    print(f"demo       {len(feed)} 条演示事件已发布，按模拟时钟回放 {first_day} 至今 / "
          f"demo events published, replayed on a simulated clock", flush=True)

    def ready(base: str) -> None:
        print(f"\n仪表盘 Dashboard   {base}/\nAPI               {base}/api/health  ·  {base}/api/openapi.json\n"
              "按 Ctrl-C 停止 / press Ctrl-C to stop", flush=True)

    # Through yesterday: the clock stops at today 00:00, the state as of this morning.
    replay_topics(settings, first_day, today - timedelta(days=1), speed, http_port=settings.http_port,
                  on_ready=ready, keep_running=True)
    return 0


def ev_time(event: dict):
    from models.clock import SHANGHAI, parse_instant

    return parse_instant(event["time"]).astimezone(SHANGHAI)


def _publish_demo(settings, wait_applied) -> int:
    from models.clock import SHANGHAI, clock_from_spec
    from streams.demo import demo_feed_for, publish_feed
    from streams.publisher import EventPublisher
    from streams.subscriber import load_department_names

    today = clock_from_spec(settings.clock).now().astimezone(SHANGHAI).date()
    departments = frozenset(load_department_names(settings.departments_file)) or None
    with EventPublisher(settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix,
                        departments=departments, max_bytes=settings.max_event_bytes) as publisher:
        return publish_feed(publisher, demo_feed_for(settings, today), wait_applied)


def _wait_applied(worker, count: int, timeout: float = 30.0) -> None:
    """Wait until the worker has applied at least ``count`` messages since it started (best effort)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = worker.health(timeout=2)
        if health is not None and ((health.get("worker") or {}).get("ingest") or {}).get("messages", 0) >= count:
            return
        time.sleep(0.05)


def _stop_on_sigterm() -> None:
    """SIGTERM stops everything like Ctrl-C does."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _prepare_sqlite(database_url: str) -> None:
    """A relative SQLite path (the default ``var/…``) needs its directory."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and database_url[len(prefix):] not in ("", ":memory:"):
        Path(database_url[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)


def _in_dir(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
