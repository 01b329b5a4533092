"""``catalog-tracker replay --from 2025-01-01 --to 2025-12-31 --speed 86400``

Runs the tracker over the recorded input topics against a simulated clock, so
a year of deadlines, reminders and violations plays out in minutes (86400: a
day per second). A fresh worker with a fresh database (SQLite under ``var/``
unless ``--database-url``) consumes a private copy of the input topics
(``<prefix>replay-<run>.…``) and publishes its reminders and violations there,
so the live tracker and its subscribers are not disturbed. See
``streams/replay.py`` for why the result is the same on every run.

A progress bar goes to stderr; the final figures to stdout, and with
``--report FILE`` as JSON (obligations, violations, yearly evaluations).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

EXIT_FAILED = 1
TICK_SECONDS = "0.02"  # the worker's own tick interval during a replay: steps wait for a tick at each instant


def register(subparsers) -> None:
    parser = subparsers.add_parser("replay", help="replay the input topics against a simulated clock",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day (YYYY-MM-DD)")
    parser.add_argument("--speed", type=float, default=86400.0,
                        help="simulated seconds per real second (default 86400: a day per second)")
    parser.add_argument("--database-url", help="where the replayed state goes (default: a fresh SQLite file in var/)")
    parser.add_argument("--report", type=Path, help="write the final obligations, violations and evaluations as JSON")
    parser.add_argument("--read-timeout", type=float, default=30.0,
                        help="seconds to wait for the input topics to be read to their end")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from config.settings import Settings

    if args.speed <= 0:
        print("catalog-tracker replay: --speed must be positive", file=sys.stderr)
        return 2
    if args.end < args.start:
        print(f"catalog-tracker replay: --to {args.end} is before --from {args.start}", file=sys.stderr)
        return 2
    try:
        report = replay_topics(Settings.from_env(), args.start, args.end, args.speed,
                               database_url=args.database_url, read_timeout=args.read_timeout,
                               progress=not args.no_progress)
    except (TimeoutError, RuntimeError) as exc:
        print(f"\ncatalog-tracker replay: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nreplay interrupted", file=sys.stderr)
        return EXIT_FAILED
    if args.report:
        args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(summary_text(report))
    return 0


def replay_topics(settings, start: date, end: date, speed: float, *, database_url: str | None = None,
                  read_timeout: float = 30.0, progress: bool = True, http_port: int | None = None,
                  on_ready: Callable[[str], None] | None = None,
                  keep_running: bool = False) -> dict:
    """Replay the input topics of ``settings`` over ``start`` … ``end``; returns the final report.

    ``http_port``: where the replay worker serves the API and dashboard (a free
    port when None); ``on_ready(base_url)`` is called once it answers.
    ``keep_running``: after the last step, keep the worker (and its dashboard)
    up until Ctrl-C; the clock stays at the end of the window.
    """
    from streams.replay import order_messages, plan_steps, window

    begin, finish = window(start, end)
    run_id = uuid.uuid4().hex[:8]
    prefix = f"{settings.topic_prefix}replay-{run_id}."
    database_url = database_url or f"sqlite:///{_in_dir(Path('var') / f'replay-{run_id}.db').resolve()}"

    recorded = read_input_topics(settings, timeout=read_timeout)
    scheduled, later = order_messages(recorded, begin, finish)
    steps = plan_steps(begin, finish, settings.reminder_time, scheduled)
    print(f"replay {run_id}: {len(scheduled)} input messages in {start} … {end}"
          f"{f', {len(later)} after it left out' if later else ''}; database {database_url}; topics {prefix}*",
          file=sys.stderr, flush=True)

    worker = ReplayWorker(settings, prefix=prefix, database_url=database_url, start=begin,
                          log_path=_in_dir(Path("var") / f"replay-{run_id}-worker.log"), http_port=http_port)
    try:
        try:
            worker.start()
            if on_ready is not None:
                on_ready(worker.base_url)
            play(worker, steps, begin, finish, speed, progress=progress)
            report = collect_report(worker, start, end)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{worker.log_tail()}") from None
        report.update(run=run_id, database_url=database_url, topic_prefix=prefix, messages=len(scheduled),
                      left_out=len(later))
        if keep_running:
            print(summary_text(report), flush=True)
            worker.wait()
        return report
    finally:
        worker.stop()


# ---------------------------------------------------------------- reading the input topics

def read_input_topics(settings, timeout: float) -> list:
    """Every message of the input topics, up to each partition's high-water mark.

    The high-water mark comes from fetch answers (right on the bundled broker,
    where ListOffsets is not: see DEVELOPERS.md).
    """
    from kafka import KafkaConsumer, TopicPartition

    from streams.topics import INPUT_TOPICS
    from streams.replay import RecordedMessage, published_instant

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, fetch_max_wait_ms=settings.fetch_max_wait_ms,
                             client_id="catalog-tracker-replay")
    try:
        partitions = []
        for logical in INPUT_TOPICS:
            found = consumer.partitions_for_topic(settings.topic(logical)) or set()
            partitions += [TopicPartition(settings.topic(logical), p) for p in sorted(found)]
        if not partitions:
            return []
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, 0)
        messages: list[RecordedMessage] = []
        deadline = time.monotonic() + timeout
        prefix_len = len(settings.topic_prefix)
        while True:
            for tp, records in consumer.poll(timeout_ms=100).items():
                for record in records:
                    headers = tuple((name, value) for name, value in (record.headers or []))
                    messages.append(RecordedMessage(tp.topic[prefix_len:], tp.partition, record.offset, record.key,
                                                    record.value, headers, published_instant(record.value, headers)))
            if all(consumer.highwater(tp) is not None and consumer.position(tp) >= consumer.highwater(tp)
                   for tp in partitions):
                return messages
            if time.monotonic() > deadline:
                raise TimeoutError(f"the input topics were not read to their end within {timeout:.0f}s")
    finally:
        consumer.close()


# ---------------------------------------------------------------- the worker under replay

class ReplayWorker:
    """A ``catalog-tracker worker`` subprocess (``cli.worker_process``) whose clock is a file this process moves."""

    def __init__(self, settings, *, prefix: str, database_url: str, start: datetime, log_path: Path,
                 http_port: int | None = None):
        from cli.worker_process import WorkerProcess
        from models.clock import FileClock

        self.settings = settings
        self.clock_path = log_path.with_suffix(".clock")
        FileClock.write(self.clock_path, start)
        self.log_path = log_path
        env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
                   DATABASE_URL=database_url, TRACKER_TOPIC_PREFIX=prefix,
                   TRACKER_CONSUMER_GROUP=f"{prefix}tracker", TRACKER_CLOCK=f"file:{self.clock_path.resolve()}",
                   TRACKER_TICK_SECONDS=TICK_SECONDS)
        self.process = WorkerProcess(env, log_path, args=("--loglevel", "warning", "--grace-seconds", "10"),
                                     host=settings.http_host, port=http_port)
        self.prefix = prefix
        self.producer = None
        self.sent = 0

    @property
    def base_url(self) -> str:
        return self.process.base_url

    def start(self, timeout: float = 120.0) -> None:
        from kafka import KafkaProducer

        self.process.start().wait_healthy(timeout)
        self.producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all", linger_ms=0,
                                      enable_idempotence=False)

    def _alive(self) -> bool:
        self.process.check_alive()  # WorkerExited is a RuntimeError
        return True

    def health(self) -> dict | None:
        return self.process.health()

    def get(self, path: str) -> tuple[int, Any]:
        try:
            status, body = self.process.get(path)
        except (OSError, ValueError):
            return 0, None
        return status, body if status < 400 else None

    def set_clock(self, instant: datetime) -> None:
        from models.clock import FileClock

        FileClock.write(self.clock_path, instant)

    def send(self, messages) -> None:
        for message in messages:
            self.producer.send(self.prefix + message.topic, value=message.value, key=message.key,
                               headers=list(message.headers))
            self.sent += 1
        self.producer.flush()

    def caught_up(self, instant: datetime) -> bool:
        """Every sent message applied, and a tick at (or after) ``instant`` done."""
        from models.clock import parse_instant

        self._alive()
        health = self.health()
        worker = (health or {}).get("worker") or {}
        if (worker.get("ingest") or {}).get("messages", -1) < self.sent:
            return False
        last_tick = (worker.get("scheduler") or {}).get("last_tick_clock")
        return bool(last_tick) and parse_instant(last_tick) >= instant

    def stop(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=5)
        self.process.stop()

    def wait(self) -> int:
        """Block until the worker process ends (or Ctrl-C)."""
        return self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines)


def play(worker: ReplayWorker, steps, begin: datetime, end: datetime, speed: float, *, progress: bool,
         step_timeout: float = 60.0) -> None:
    """Move the worker's clock through every step, paced by a ``SimulatedClock`` at ``speed``."""
    from models.clock import SimulatedClock
    from streams.broker import wait_until
    from streams.replay import progress_bar

    pace = SimulatedClock(begin, speed)
    total = (end - begin).total_seconds()
    last_drawn = 0.0
    for index, step in enumerate(steps):
        ahead = (step.at - pace.now()).total_seconds() / speed
        if ahead > 0:
            time.sleep(ahead)  # pacing: the simulated clock has not reached this instant yet
        worker.set_clock(step.at)
        worker.send(step.messages)
        wait_until(lambda: worker.caught_up(step.at), step_timeout, interval=0.005,
                   what=f"the worker to apply its input and tick at {step.at.isoformat()}")
        if progress and (time.monotonic() - last_drawn > 0.1 or index == len(steps) - 1):
            last_drawn = time.monotonic()
            fraction = (step.at - begin).total_seconds() / total if total else 1.0
            sys.stderr.write(f"\rreplay {progress_bar(fraction)} {step.at.date().isoformat()} "
                             f"events {worker.sent}")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")


# ---------------------------------------------------------------- the result

def _items(answer: Any, key: str) -> list:
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict):
        return answer.get(key) or answer.get("items") or []
    return []


def _all_pages(worker: ReplayWorker, path: str, key: str) -> list:
    items: list = []
    while True:
        separator = "&" if "?" in path else "?"
        status, answer = worker.get(f"{path}{separator}limit=1000&offset={len(items)}")
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        page = _items(answer, key)
        items += page
        if len(page) < 1000:
            return items


def collect_report(worker: ReplayWorker, start: date, end: date) -> dict:
    obligations = _all_pages(worker, "/api/obligations", "obligations")
    violations = _all_pages(worker, "/api/violations", "violations")
    evaluations = {}
    for year in range(start.year, end.year + 1):
        status, answer = worker.get(f"/api/evaluation/{year}")
        if status != 200:
            raise RuntimeError(f"GET /api/evaluation/{year} answered {status}")
        evaluations[str(year)] = answer
    return {"from": start.isoformat(), "to": end.isoformat(), "obligations": obligations, "violations": violations,
            "evaluation": evaluations}


def summary_text(report: dict) -> str:
    statuses: dict[str, int] = {}
    for obligation in report["obligations"]:
        statuses[obligation.get("status", "?")] = statuses.get(obligation.get("status", "?"), 0) + 1
    by_status = ", ".join(f"{name} {count}" for name, count in sorted(statuses.items())) or "none"
    return (f"回放完成 / replay done {report['from']} … {report['to']}: {report['messages']} input messages; "
            f"obligations {len(report['obligations'])} ({by_status}); violations {len(report['violations'])}\n"
            f"database {report['database_url']}; output topics {report['topic_prefix']}catalog.notifications.*")


def _in_dir(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
