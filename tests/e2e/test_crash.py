"""Crash test at a CI-friendly size (issue 9): SIGKILLs at random moments while events flow and deadlines pass.

Every reminder and violation a crash-free reference run stores must arrive
exactly once (by CloudEvents id, and by obligation and stage), and nothing
else. The full-size variant is ``benchmarks/crash_bench.py``.
"""
from __future__ import annotations

import os

import pytest

from tests.e2e import crash_scenario

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SEED = int(os.environ.get("TRACKER_CRASH_SEED", "9"))


def test_random_kills_lose_and_double_nothing(pipeline, tmp_path):
    made = crash_scenario.events(120)
    expected = crash_scenario.reference(made, f"sqlite:///{tmp_path / 'reference.db'}")
    assert expected.reminders and len(expected.violations) == 120  # the scenario has work at every kind of step
    figures = crash_scenario.run(pipeline, made, expected, seed=SEED, kills_while_publishing=2, kills_per_step=1)
    print("\n" + figures.line())
    assert figures.kills == 2 + len(crash_scenario.CLOCK_STEPS)
    assert (figures.duplicated, figures.missing, figures.unexpected) == (0, 0, 0)
    assert (figures.seen_reminders, figures.seen_violations) == (figures.expected_reminders,
                                                                  figures.expected_violations)
