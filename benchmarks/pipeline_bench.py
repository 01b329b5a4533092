"""Pipeline benchmark: the tracker against a bare Faust agent, on the same broker, in one run.

1. Pre-loads N (default 100,000) ``gov.catalog.regulation.changed`` events, one
   affected department each, on the input topic.
2. Bare agent: a Faust worker (same Tansu tuning) that only forwards each event
   to another topic; its events/s from the first to the last event forwarded.
3. Tracker: ``catalog-tracker worker`` (SQLite, system clock) on the same
   events; its events/s from the first to the last obligation written (the
   obligations table is polled every few milliseconds).
4. Latency: a fresh prefix and database; events published at a steady rate
   (default 500/s); for each, the time from publish to its obligation being
   visible in SQL. Prints p50/p99.

    python benchmarks/pipeline_bench.py [--events 100000] [--rate 500] [--latency-seconds 20]

Uses KAFKA_BOOTSTRAP_SERVERS when set, otherwise starts the bundled Tansu.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kafka import KafkaProducer  # noqa: E402

from models.cloudevents import encode as encode_cloudevent  # noqa: E402
from models.departments import load_registry  # noqa: E402
from models.events import REGULATION_CHANGED  # noqa: E402
from models.validation import build_cloudevent  # noqa: E402
from streams.broker import free_port, start_local_broker, wait_until  # noqa: E402
from streams.topics import REGULATION_CHANGES as TOPIC_REGULATION_CHANGES  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402

PARTITIONS = 4
FORWARDED = "bench.forwarded"


# ---------------------------------------------------------------- events

def department_codes() -> list[str]:
    from config.settings import Settings

    return [d.code for d in load_registry(Settings.from_env().departments_file)]


def regulation_event(i: int, department: str, changed_on: date, tag: str) -> bytes:
    event = build_cloudevent(
        REGULATION_CHANGED, "/bench/legal-affairs",
        {"regulation_id": f"{tag}-{i}", "title": f"基准测试条例 {i}", "change_kind": "amended",
         "changed_on": changed_on.isoformat(), "affected_departments": [department]},
        id=f"{tag}-{i}", subject=department)
    return encode_cloudevent(event)


def recent_day() -> date:
    """Today in Asia/Shanghai: the tracker runs on the system clock, so these obligations are open, not overdue."""
    from models.clock import SHANGHAI

    return datetime.now(SHANGHAI).date()


def preload(bootstrap: str, topic: str, count: int, tag: str) -> float:
    codes = department_codes()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=512 * 1024,
                             max_in_flight_requests_per_connection=5)
    started = time.monotonic()
    rng = random.Random(7)
    today = recent_day()
    for i in range(count):
        department = rng.choice(codes)
        producer.send(topic, regulation_event(i, department, today - timedelta(days=i % 10), tag),
                      key=department.encode())
    producer.flush(120)
    producer.close()
    return time.monotonic() - started


# ---------------------------------------------------------------- bare agent

def run_bare_agent(bootstrap: str, prefix: str, expected: int, result_file: str) -> None:
    """Runs inside a subprocess: a Faust worker that forwards every event, then writes its timings."""
    import asyncio

    import faust

    from config.settings import Settings
    from streams.app import build_app

    settings = Settings.from_env(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    app = build_app(settings, app_id=f"{prefix}bare-agent")
    source = app.topic(settings.topic(TOPIC_REGULATION_CHANGES))
    target = app.topic(prefix + FORWARDED)
    state = {"count": 0, "first": None}

    @app.agent(source, concurrency=1)
    async def forward(stream):
        async for event in stream.events():
            if state["first"] is None:
                state["first"] = time.time()
            await target.send(key=event.message.key, value=event.message.value)
            state["count"] += 1
            if state["count"] == expected:
                await app.producer.flush()
                Path(result_file).write_text(json.dumps({"first": state["first"], "last": time.time(),
                                                         "count": state["count"]}))
                asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)

    worker = faust.Worker(app, loglevel="warning", redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit:
        pass


def measure_bare(bootstrap: str, prefix: str, expected: int, workdir: Path) -> dict:
    result_file = workdir / "bare.json"
    command = [sys.executable, __file__, "--bare-agent", "--bootstrap", bootstrap, "--prefix", prefix,
               "--events", str(expected), "--result-file", str(result_file)]
    with open(workdir / "bare.log", "ab") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: result_file.exists() or process.poll() is not None, 900, what="the bare agent")
        finally:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    if not result_file.exists():
        raise SystemExit(f"bare agent failed; see {workdir / 'bare.log'}")
    return json.loads(result_file.read_text())


# ---------------------------------------------------------------- tracker

def tracker_env(bootstrap: str, prefix: str, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") or k == "TRACKER_INGEST_WRITER"}
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap, DATABASE_URL=database_url, TRACKER_TOPIC_PREFIX=prefix,
               TRACKER_TOPIC_PARTITIONS=str(PARTITIONS), TRACKER_CONSUMER_GROUP=f"{prefix}tracker",
               TRACKER_HTTP_PORT=str(free_port()), TRACKER_CLOCK="system", TRACKER_TICK_SECONDS="1")
    return env


def start_tracker(env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--no-api", "--loglevel", "warning"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_tracker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


class ObligationWatcher:
    """Polls the database for newly opened obligations and timestamps them as they become visible.

    Reads ``obligation_history`` rows of kind "opened" by increasing id (one
    worker writes them in one transaction per batch), so it works on SQLite and
    PostgreSQL alike.
    """

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.engine = None
        self.last_id = 0
        self.seen: dict[str, float] = {}
        self.first: float | None = None
        self.last: float | None = None

    def poll(self) -> int:
        import sqlalchemy as sa

        if self.engine is None:
            self.engine = sa.create_engine(self.database_url)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "select id, event_id from obligation_history where id > :last and what = 'opened' order by id"),
                    {"last": self.last_id}).all()
        except sa.exc.DBAPIError:  # not migrated yet
            return 0
        now = time.time()
        for row_id, trigger in rows:
            self.last_id = row_id
            self.seen.setdefault(trigger, now)
        if rows:
            self.first = self.first or now
            self.last = now
        return len(rows)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def measure_tracker(bootstrap: str, prefix: str, expected: int, workdir: Path, database: DatabaseFactory) -> dict:
    url = database.new(prefix)
    process = start_tracker(tracker_env(bootstrap, prefix, url), workdir / "tracker.log")
    watcher = ObligationWatcher(url)
    try:
        def done():
            if process.poll() is not None:
                raise SystemExit(f"tracker exited with {process.returncode}; see {workdir / 'tracker.log'}")
            watcher.poll()
            return len(watcher.seen) >= expected

        wait_until(done, 1800, interval=0.05, what="every obligation")
    finally:
        stop_tracker(process)
        watcher.close()
    return {"first": watcher.first, "last": watcher.last, "count": len(watcher.seen)}


def measure_latency(bootstrap: str, rate: float, seconds: float, workdir: Path,
                    database: DatabaseFactory) -> list[float]:
    prefix = f"lat{uuid.uuid4().hex[:6]}."
    topic = prefix + TOPIC_REGULATION_CHANGES
    url = database.new(prefix)
    ensure_topics(bootstrap, [topic], PARTITIONS)
    process = start_tracker(tracker_env(bootstrap, prefix, url), workdir / "latency-tracker.log")
    watcher = ObligationWatcher(url)
    codes = department_codes()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    published: dict[str, float] = {}
    try:
        # Warm-up: one event, wait until the worker has joined and stored it.
        producer.send(topic, regulation_event(0, codes[0], recent_day(), f"{prefix}warm"), key=codes[0].encode())
        producer.flush()
        wait_until(lambda: watcher.poll() or watcher.seen, 120, what="the warm-up obligation")
        total = int(rate * seconds)
        started = time.monotonic()
        for i in range(total):
            due = started + i / rate
            while time.monotonic() < due:  # pace the publisher, and watch SQL meanwhile (without hogging a core)
                watcher.poll()
                time.sleep(min(0.002, max(0.0, due - time.monotonic())))
            code = codes[i % len(codes)]
            event_id = f"{prefix}e-{i}"
            producer.send(topic, regulation_event(i, code, recent_day(), f"{prefix}e"), key=code.encode())
            published[event_id] = time.time()
        producer.flush()
        wait_until(lambda: watcher.poll() is not None and all(e in watcher.seen for e in published), 120,
                   interval=0.002, what="every latency obligation")
    finally:
        producer.close()
        stop_tracker(process)
        watcher.close()
    return sorted(watcher.seen[e] - published[e] for e in published)


class DatabaseFactory:
    """A fresh database per measurement: a SQLite file in the work directory, or a new PostgreSQL database."""

    def __init__(self, workdir: Path, postgres_url: str | None):
        self.workdir = workdir
        self.postgres_url = postgres_url
        self.created: list[str] = []

    def new(self, prefix: str) -> str:
        if not self.postgres_url:
            return f"sqlite:///{self.workdir / (prefix + 'tracker.db')}"
        import sqlalchemy as sa

        name = "bench_" + "".join(ch for ch in prefix if ch.isalnum())
        admin = sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
        admin.dispose()
        self.created.append(name)
        return sa.engine.make_url(self.postgres_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        import sqlalchemy as sa

        admin = sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--only-latency", action="store_true")
    parser.add_argument("--skip-bare", action="store_true", help="measure the tracker only (for profiling)")
    parser.add_argument("--ingest-writer", choices=("process", "thread"), default="process",
                        help="where the tracker applies its batches (TRACKER_INGEST_WRITER; default process)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", nargs="?", const="postgresql+psycopg2://postgres@127.0.0.1:5432/test",
                        help="run the tracker on PostgreSQL (fresh databases created and dropped via ADMIN_URL) "
                             "instead of SQLite")
    parser.add_argument("--bare-agent", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_agent:
        run_bare_agent(args.bootstrap, args.prefix, args.events, args.result_file)
        return 0
    os.environ["TRACKER_INGEST_WRITER"] = args.ingest_writer

    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    database = DatabaseFactory(workdir, args.postgres)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    if not bootstrap:
        broker = start_local_broker(log_file=workdir / "tansu.log")
        bootstrap = broker.bootstrap_servers
    try:
        if args.only_latency:
            latencies = measure_latency(bootstrap, args.rate, args.latency_seconds, workdir, database)
            print(f"latency ({backend}) at {args.rate:.0f}/s: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
                  f"p99 {percentile(latencies, 99) * 1000:.0f} ms ({workdir})")
            return 0
        prefix = f"b{uuid.uuid4().hex[:6]}."
        topic = prefix + TOPIC_REGULATION_CHANGES
        ensure_topics(bootstrap, [topic, prefix + FORWARDED], PARTITIONS)
        seconds = preload(bootstrap, topic, args.events, prefix)
        print(f"pre-loaded {args.events} events in {seconds:.1f}s on {bootstrap} ({PARTITIONS} partitions)")

        bare = (measure_bare(bootstrap, prefix, args.events, workdir) if not args.skip_bare
                else {"count": args.events, "first": 0.0, "last": 1.0})
        bare_rate = bare["count"] / max(1e-9, bare["last"] - bare["first"])
        print(f"bare Faust agent (forward only): {bare['count']} events in {bare['last'] - bare['first']:.2f}s "
              f"= {bare_rate:,.0f} events/s")

        tracker = measure_tracker(bootstrap, prefix, args.events, workdir, database)
        tracker_rate = tracker["count"] / max(1e-9, tracker["last"] - tracker["first"])
        print(f"tracker ({backend}, batches applied in a {args.ingest_writer}, obligations written): "
              f"{tracker['count']} obligations in "
              f"{tracker['last'] - tracker['first']:.2f}s = {tracker_rate:,.0f} events/s")
        ratio = tracker_rate / bare_rate
        verdict = "met" if ratio >= 1.0 else "MISSED"
        print(f"ratio tracker / bare agent: {ratio:.2f} (target >= 1.00, as fast as the bare agent: {verdict})")

        if not args.skip_latency:
            latencies = measure_latency(bootstrap, args.rate, args.latency_seconds, workdir, database)
            print(f"latency ({backend}) publish -> obligation stored at {args.rate:.0f} events/s over {args.latency_seconds:.0f}s "
                  f"({len(latencies)} events): p50 {percentile(latencies, 50) * 1000:.0f} ms, "
                  f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
        print(f"logs and databases: {workdir}")
    finally:
        database.drop_all()
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
