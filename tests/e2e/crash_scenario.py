"""The crash scenario (issue 9): a worker SIGKILLed at random moments while events flow and deadlines pass.

Used at a CI-friendly size by ``tests/e2e/test_crash.py`` and at full size by
``benchmarks/crash_bench.py``. What is expected comes from a reference run of
the same events and the same clock steps through an in-process tracker on a
database of its own, with no crash: every reminder and violation it writes
(deterministic ids) must reach the topics of the crashed run exactly once, and
nothing else may.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from models.clock import ManualClock, parse_instant
from models.sql import tables as t
from streams.broker import wait_until
from streams.topics import OBLIGATIONS as OBL
from streams.topics import REGULATION_CHANGES as REG
from streams.topics import REMINDERS as REM
from streams.topics import VIOLATIONS as VIO

DEPARTMENTS = ["jyj", "mzj", "sfj", "czj", "rsj", "zrzyj", "zjj", "cgj", "nyj", "swj"]
# Reminder stages at 5, 3 and 1 working days left (and the due day), then every deadline passed.
CLOCK_STEPS = ["2026-03-16T09:00:00", "2026-03-18T09:30:00", "2026-03-20T09:30:00", "2026-03-23T09:30:00",
               "2026-03-25T09:30:00", "2026-04-03T09:00:00"]


@dataclass
class CrashFigures:
    events: int
    kills: int = 0
    expected_reminders: int = 0
    expected_violations: int = 0
    seen_reminders: int = 0
    seen_violations: int = 0
    duplicated: int = 0
    missing: int = 0
    unexpected: int = 0
    seconds: float = 0.0
    kill_moments: list[str] = field(default_factory=list)

    def line(self) -> str:
        moments = ", ".join(f"{n} {what}" for what, n in Counter(self.kill_moments).items())
        return (f"crash: {self.events} events, {self.kills} kills ({moments}); reminders "
                f"expected {self.expected_reminders} seen {self.seen_reminders}; violations expected "
                f"{self.expected_violations} seen {self.seen_violations}; duplicated {self.duplicated}, missing "
                f"{self.missing}, unexpected {self.unexpected}; {self.seconds:.0f}s")


def events(count: int) -> list[tuple[str, dict]]:
    from models.validation import build_cloudevent
    from models.events import REGULATION_CHANGED

    made = []
    for i in range(count):
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        changed_on = f"2026-03-{2 + i % 5:02d}"
        made.append((department, build_cloudevent(REGULATION_CHANGED, "/yuhua/legal-affairs", {
            "regulation_id": f"reg-C{i}", "title": f"《测试条例》修订 C{i}", "change_kind": "amended",
            "changed_on": changed_on, "affected_departments": [department]}, id=f"C{i}", subject=department,
            time=parse_instant("2026-03-02T09:00:00"))))
    return made


@dataclass
class Reference:
    reminders: set[str]
    violations: set[str]
    by_step: dict[str, set[str]]  # clock step -> reminder and violation ids stored once it was ticked


def reference(made: list[tuple[str, dict]], database_url: str) -> Reference:
    """What a crash-free run stores: the same events, a tick at each clock step (in-process tracker)."""
    from config.bootstrap import build_tracker
    from config.settings import Settings
    from models.cloudevents import encode
    from models.sql.engine import create_engine
    from models.sql.migrate import upgrade
    from streams.ingest import decode_message

    engine = create_engine(database_url)
    upgrade(engine)
    clock = ManualClock(parse_instant("2026-03-02T10:00:00"))
    tracker = build_tracker(Settings.from_env({}, database_url=database_url), clock, engine)
    items = [decode_message(REG, 0, n, department.encode(), encode(event), [], max_bytes=1 << 20)
             for n, (department, event) in enumerate(made)]
    tracker.apply_batch(items)
    by_step = {}
    for step in CLOCK_STEPS:
        clock.set(parse_instant(step))
        while tracker.tick().more_due:
            pass
        by_step[step] = stored_ids(engine)
    with engine.connect() as conn:
        reminders = {row[0] for row in conn.execute(sa.select(t.reminders.c.id))}
        violations = {row[0] for row in conn.execute(sa.select(t.violations.c.id))}
    engine.dispose()
    return Reference(reminders, violations, by_step)


def stored_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return ({row[0] for row in conn.execute(sa.select(t.reminders.c.id))}
                | {row[0] for row in conn.execute(sa.select(t.violations.c.id))})


def run(pipeline, made: list[tuple[str, dict]], expected: Reference, *, seed: int,
        kills_while_publishing: int, kills_per_step: int, chunk: int = 20, timeout: float = 120) -> CrashFigures:
    """Publish ``made`` and walk the clock through ``CLOCK_STEPS``, killing the worker at random moments."""
    rng = random.Random(seed)
    figures = CrashFigures(events=len(made))
    started = time.monotonic()
    from models.sql.migrate import upgrade

    upgrade(pipeline.engine)  # the tables exist for the test's reads, whenever the first worker is killed
    workers = [pipeline.start_worker(api=False)]

    def count(table) -> int:
        return pipeline.sql(sa.select(sa.func.count()).select_from(table))[0][0]

    def kill_soon(what: str, within: float) -> None:
        time.sleep(rng.uniform(0, within))  # a random moment: what is killed is whatever runs then
        workers[-1].kill()
        figures.kills += 1
        figures.kill_moments.append(what)
        workers.append(pipeline.start_worker(api=False))

    chunks = [made[i:i + chunk] for i in range(0, len(made), chunk)]
    kill_after = set(rng.sample(range(len(chunks)), min(kills_while_publishing, len(chunks))))
    for n, part in enumerate(chunks):
        for department, event in part:
            pipeline.publisher.send_event(REG, event, key=department)
        if n in kill_after:
            kill_soon("events flowing", 1.5)
    wait_until(lambda: (workers[-1].check_alive(), count(t.processed_events) >= len(made))[1], timeout,
               what="every event applied")

    expected_reminders, expected_violations = expected.reminders, expected.violations
    for step in CLOCK_STEPS:
        pipeline.clock.set(parse_instant(step))
        for _ in range(kills_per_step):
            kill_soon(f"clock at {step[5:10]}", 1.0)
        # The step's work done before the clock moves on, so this run ticks at every step as the reference did.
        wait_until(lambda: (workers[-1].check_alive(), expected.by_step[step] <= stored_ids(pipeline.engine))[1],
                   timeout, what=f"the work due at {step}")

    def outbox_empty():
        workers[-1].check_alive()
        return not pipeline.sql(sa.select(t.outbox.c.id).where(t.outbox.c.sent.is_(False)).limit(1))

    wait_until(outbox_empty, timeout, what="an empty outbox")
    pipeline.wait_for(lambda o: {e["id"] for e in o.events(REM)} >= expected_reminders
                      and {e["id"] for e in o.events(VIO)} >= expected_violations, timeout=timeout,
                      what="every expected reminder and violation")
    pipeline.output.settle(10)
    figures.expected_reminders, figures.expected_violations = len(expected_reminders), len(expected_violations)
    for topic, expected in ((REM, expected_reminders), (VIO, expected_violations)):
        seen = Counter(e["id"] for e in pipeline.output.events(topic))
        figures.duplicated += sum(1 for n in seen.values() if n > 1)
        figures.missing += len(expected - set(seen))
        figures.unexpected += len(set(seen) - expected)
    figures.seen_reminders = len({e["id"] for e in pipeline.output.events(REM)})
    figures.seen_violations = len({e["id"] for e in pipeline.output.events(VIO)})
    by_stage = Counter((e["data"]["obligation_id"], e["data"]["stage"]) for e in pipeline.output.events(REM))
    figures.duplicated += sum(1 for n in by_stage.values() if n > 1)
    by_obligation = Counter(e["data"]["obligation_id"] for e in pipeline.output.events(VIO))
    figures.duplicated += sum(1 for n in by_obligation.values() if n > 1)
    opened = Counter(e["id"] for e in pipeline.output.events(OBL) if e["type"].endswith(".opened"))
    figures.duplicated += sum(1 for n in opened.values() if n > 1)
    figures.missing += len(made) - len(opened)
    figures.seconds = time.monotonic() - started
    return figures
