"""Helpers for end-to-end tests: a real worker process, a file clock, a publisher and an output reader.

Nothing here sleeps to wait: every wait polls a condition with a deadline.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from cli import worker_process
from models.clock import SHANGHAI
from models.cloudevents import encode as encode_cloudevent
from streams.broker import wait_until
from streams.topics import OUTPUT_TOPICS
from tests.contract_check import message_problems

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 2


class FileClockControl:
    """The time of a worker in another process (``TRACKER_CLOCK=file:<path>``)."""

    def __init__(self, path: Path, start: datetime):
        self.path = path
        self.set(start)

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=SHANGHAI)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(instant.isoformat(), encoding="utf-8")
        os.replace(temporary, self.path)  # atomic: the worker never reads half a time
        self.now = instant

    @property
    def spec(self) -> str:
        return f"file:{self.path}"


class WorkerProcess(worker_process.WorkerProcess):
    """``catalog-tracker worker`` (``cli.worker_process``), started at once; a worker that ended fails the test."""

    def __init__(self, env: dict[str, str], log_path: Path, *, api: bool = True, args: tuple[str, ...] = ()):
        super().__init__(env, log_path, args=(*args, *(() if api else ("--no-api",))), cwd=REPO)
        self.start()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        return super().log_tail(lines)


class Publisher:
    def __init__(self, bootstrap_servers: str, prefix: str):
        self.prefix = prefix
        self.producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=0)

    def send_event(self, topic: str, event: dict, key: str | None = None) -> None:
        self.send_raw(topic, encode_cloudevent(event), key=key or event.get("subject"),
                      headers=[("content-type", b"application/cloudevents+json")])

    def send_raw(self, topic: str, value: bytes | None, key: str | bytes | None = None,
                 headers: list[tuple[str, bytes]] | None = None) -> None:
        if isinstance(key, str):
            key = key.encode("utf-8")
        self.producer.send(self.prefix + topic, value=value, key=key, headers=headers or []).get(timeout=30)

    def close(self) -> None:
        self.producer.close(timeout=5)


class OutputReader:
    """Reads every output topic from the beginning; ``events(topic)`` are the decoded CloudEvents."""

    def __init__(self, bootstrap_servers: str, prefix: str, partitions: int = PARTITIONS):
        self.prefix = prefix
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                      auto_offset_reset="earliest", fetch_max_wait_ms=10)
        self._partitions = partitions
        self._assigned = False
        self.records: dict[str, list] = {topic: [] for topic in OUTPUT_TOPICS}
        self.contract_problems: list[str] = []

    def _assign(self) -> bool:
        if not self._assigned:
            names = [self.prefix + topic for topic in OUTPUT_TOPICS]
            if not all(self.consumer.partitions_for_topic(name) for name in names):
                return False
            self.consumer.assign([TopicPartition(name, p) for name in names
                                  for p in sorted(self.consumer.partitions_for_topic(name))])
            for name in names:
                for p in sorted(self.consumer.partitions_for_topic(name)):
                    self.consumer.seek(TopicPartition(name, p), 0)
            self._assigned = True
        return True

    def poll(self) -> None:
        if not self._assign():
            return
        for tp, batch in self.consumer.poll(timeout_ms=100).items():
            self.records[tp.topic[len(self.prefix):]].extend(batch)
            for record in batch:  # every output must be what the AsyncAPI document says
                self.contract_problems.extend(message_problems(record.value))

    def events(self, topic: str) -> list[dict]:
        return [json.loads(record.value) for record in self.records[topic]]

    def wait_for(self, condition: Callable[["OutputReader"], Any], timeout: float = 30.0, what: str = "output",
                 worker: WorkerProcess | None = None) -> Any:
        def check():
            if worker is not None:
                worker.check_alive()
            self.poll()
            return condition(self)

        return wait_until(check, timeout, interval=0.02, what=what)

    def settle(self, rounds: int = 5) -> None:
        """Read on for a few empty polls, so that an unexpected extra message would be seen."""
        for _ in range(rounds):
            self.poll()

    def close(self) -> None:
        self.consumer.close()


def worker_env(bootstrap_servers: str, database_url: str, prefix: str, clock: FileClockControl,
               tick_seconds: float = 0.2) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACKER_")}
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, DATABASE_URL=database_url, TRACKER_TOPIC_PREFIX=prefix,
               TRACKER_TOPIC_PARTITIONS=str(PARTITIONS), TRACKER_CLOCK=clock.spec,
               TRACKER_TICK_SECONDS=str(tick_seconds), TRACKER_CONSUMER_GROUP=f"{prefix}tracker",
               PYTHONUNBUFFERED="1")
    return env


class Pipeline:
    """One test's world: unique topics, a database, a file clock at 2026-03-02 10:00 (+08:00), workers."""

    START = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)

    def __init__(self, bootstrap_servers: str, prefix: str, database_url: str, tmp_path: Path, **env_overrides: str):
        from streams.topics import INPUT_TOPICS, ensure_topics

        self.bootstrap_servers = bootstrap_servers
        self.prefix = prefix
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.clock = FileClockControl(tmp_path / "clock.txt", self.START)
        self.env = worker_env(bootstrap_servers, database_url, prefix, self.clock)
        self.env.update(env_overrides)
        ensure_topics(bootstrap_servers, [prefix + t for t in (*INPUT_TOPICS, *OUTPUT_TOPICS)], PARTITIONS)
        self.publisher = Publisher(bootstrap_servers, prefix)
        self.output = OutputReader(bootstrap_servers, prefix)
        self.workers: list[WorkerProcess] = []
        self._engine = None

    def start_worker(self, api: bool = True, args: tuple[str, ...] = (), **env: str) -> WorkerProcess:
        worker = WorkerProcess(dict(self.env, **env), self.tmp_path / f"worker-{len(self.workers)}.log", api=api,
                               args=args)
        self.workers.append(worker)
        return worker

    @property
    def engine(self):
        if self._engine is None:
            from models.sql.engine import create_engine

            self._engine = create_engine(self.database_url)
        return self._engine

    def sql(self, statement) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(statement))

    def wait_for(self, condition: Callable[[OutputReader], Any], timeout: float = 30.0, what: str = "output"):
        alive = [w for w in self.workers if w.process.poll() is None]
        return self.output.wait_for(condition, timeout, what=what, worker=alive[-1] if alive else None)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.publisher.close()
        self.output.close()
        if self._engine is not None:
            self._engine.dispose()


def process_state(pid: int) -> str | None:
    """The state letter of process ``pid`` (R, S, Z...), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None
