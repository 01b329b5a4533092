"""Crash benchmark: the full-size variant of tests/e2e/test_crash.py (issue 9).

Publishes N regulation changes (default 3,000) while the worker is SIGKILLed at
random moments, then walks the clock through the reminder stages and past every
deadline, killing it again at each step; a crash-free reference run says which
reminders and violations must arrive. Prints the figures (kills, events,
reminders and violations expected vs seen, duplicated, missing).

    python benchmarks/crash_bench.py [--events 3000] [--kills 20] [--kills-per-step 3] [--postgres] [--seed 1]

Uses KAFKA_BOOTSTRAP_SERVERS when set, otherwise starts the bundled Tansu.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams.broker import start_local_broker  # noqa: E402
from tests.e2e import crash_scenario  # noqa: E402
from tests.e2e.harness import Pipeline  # noqa: E402
from tests.postgres import scratch_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=20, help="kills while the events flow")
    parser.add_argument("--kills-per-step", type=int, default=3, help="kills at each clock step")
    parser.add_argument("--postgres", action="store_true", help="the tracker on a fresh PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crash-bench-"))
    broker = None
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        broker = start_local_broker(log_file=work / "tansu.log")
        servers = broker.bootstrap_servers
    drop = None
    if args.postgres:
        url, drop = scratch_database("ct_crash")
    else:
        url = f"sqlite:///{work / 'tracker.db'}"
    made = crash_scenario.events(args.events)
    expected = crash_scenario.reference(made, f"sqlite:///{work / 'reference.db'}")
    pipeline = Pipeline(servers, f"crash{uuid.uuid4().hex[:6]}.", url, work)
    try:
        chunk = max(20, args.events // max(1, args.kills * 2))
        figures = crash_scenario.run(pipeline, made, expected, seed=args.seed, kills_while_publishing=args.kills,
                                     kills_per_step=args.kills_per_step, chunk=chunk, timeout=600)
    finally:
        pipeline.close()
        if drop is not None:
            drop()
        if broker is not None:
            broker.stop()
    print(f"{'postgresql' if args.postgres else 'sqlite'} " + figures.line())
    return 0 if (figures.duplicated, figures.missing, figures.unexpected) == (0, 0, 0) else 1


if __name__ == "__main__":
    sys.exit(main())
