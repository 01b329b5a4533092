"""Profile of the tracker's per-event path, in one process (no broker): decode, apply, outbox read.

1. Encodes N ``gov.catalog.regulation.changed`` events (as ``pipeline_bench`` does: one affected department
   each, recent start days) and decodes them with ``streams.ingest.decode_message``, as the agent does.
2. Applies them with ``Tracker.apply_batch`` in batches of ``--batch-size`` (the worker's default, 2000),
   on a fresh SQLite file database or a fresh PostgreSQL database (``--postgres``).
3. Reads the outbox rows back as the relay does (``Outbox.pending`` + the relay's record-batch encoding) and
   marks them sent.

Each phase is timed and profiled with cProfile; prints the top functions by cumulative and by total time.

    python benchmarks/ingest_profile.py [--events 20000] [--batch-size 2000] [--postgres [ADMIN_URL]] [--top 25]

``--top 0`` times the phases without the profiler (its own cost roughly doubles the figures).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.pipeline_bench import DatabaseFactory, department_codes, recent_day, regulation_event  # noqa: E402


def build(url: str):
    from config.bootstrap import build_engine, build_tracker
    from config.settings import Settings
    from models.clock import SystemClock
    from models.sql.outbox import Outbox

    settings = Settings.from_env(database_url=url)
    engine = build_engine(settings)
    return settings, build_tracker(settings, SystemClock(), engine), Outbox(engine), engine


def encoded_events(count: int, tag: str) -> list[tuple[bytes, bytes]]:
    import random
    from datetime import timedelta

    codes = department_codes()
    rng = random.Random(7)
    today = recent_day()
    out = []
    for i in range(count):
        department = rng.choice(codes)
        out.append((department.encode(), regulation_event(i, department, today - timedelta(days=i % 10), tag)))
    return out


def profiled(what: str, fn, top: int):
    if top <= 0:  # timings only, without the profiler's own cost
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        elapsed = time.perf_counter() - started
        print(f"{what}: {elapsed:.2f}s, {time.process_time() - cpu:.2f}s of CPU")
        return result, elapsed
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    result = fn()
    profile.disable()
    elapsed = time.perf_counter() - started
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
        text = out.getvalue()
        body = text[text.find("   ncalls"):] if "   ncalls" in text else text
        print(f"---- {what}: top {top} by {order}\n{body}")
    return result, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25, help="functions listed per table; 0: no profile, timings only")
    parser.add_argument("--postgres", metavar="ADMIN_URL", nargs="?",
                        const="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from streams.ingest import decode_message
    from streams.relay import partition_for
    from streams.topics import REGULATION_CHANGES

    workdir = Path(tempfile.mkdtemp(prefix="ingest-profile-"))
    database = DatabaseFactory(workdir, args.postgres)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    prefix = f"p{uuid.uuid4().hex[:6]}."
    try:
        settings, tracker, outbox, engine = build(database.new(prefix))
        topic = settings.topic(REGULATION_CHANGES)
        raw = encoded_events(args.events, prefix)

        def decode():
            return [decode_message(topic, i % 4, i, key, value, [], max_bytes=settings.max_event_bytes)
                    for i, (key, value) in enumerate(raw)]

        items, decode_s = profiled("decode", decode, args.top)

        def apply():
            opened = 0
            for start in range(0, len(items), args.batch_size):
                opened += tracker.apply_batch(items[start:start + args.batch_size]).obligations_opened
            return opened

        opened, apply_s = profiled("apply_batch", apply, args.top)

        def relay():
            from aiokafka.producer.message_accumulator import BatchBuilder

            count = 0
            while True:
                messages = outbox.pending(2000)
                if not messages:
                    return count
                builder = BatchBuilder(512 * 1024, 0)
                acknowledged = []
                for offset, message in enumerate(messages):
                    partition = partition_for(message.key, message.event_id, 4)
                    if builder.append(key=message.key, value=message.value, timestamp=None,
                                      headers=list(message.headers)) is None:
                        builder.close()
                        builder = BatchBuilder(512 * 1024, 0)
                        builder.append(key=message.key, value=message.value, timestamp=None,
                                       headers=list(message.headers))
                    acknowledged.append((message.id, partition, count + offset))
                builder.close()
                outbox.mark_sent(acknowledged)
                count += len(messages)

        relayed, relay_s = profiled("relay (outbox read, record batches, mark sent)", relay, args.top)
        engine.dispose()
        print(f"{backend}: {args.events} events, batches of {args.batch_size}: decode {decode_s:.2f}s "
              f"({args.events / decode_s:,.0f}/s), apply {apply_s:.2f}s ({args.events / apply_s:,.0f}/s, "
              f"{opened} obligations), relay {relay_s:.2f}s ({relayed} rows, {relayed / max(relay_s, 1e-9):,.0f}/s); "
              f"total {(decode_s + apply_s + relay_s):.2f}s = "
              f"{args.events / (decode_s + apply_s + relay_s):,.0f} events/s")
    finally:
        database.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
