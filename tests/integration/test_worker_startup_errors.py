"""A mistake in a policy file or a setting stops the worker at start with one
line naming the file, the line and the problem (issue 4), not a traceback."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import CONFIG_DIR


def run_worker(tmp_path: Path, **env) -> subprocess.CompletedProcess:
    environ = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
                   KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", **env)
    return subprocess.run([sys.executable, "-m", "cli.main", "worker", "--no-api"], env=environ,
                          capture_output=True, text=True, timeout=60)


def policies_with(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    policy_dir = tmp_path / "policies"
    shutil.copytree(CONFIG_DIR / "policies", policy_dir)
    path = policy_dir / "yuhua-2021-measures.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path, line


@pytest.mark.parametrize("old, new, problem", [
    ("working_days: 15", "working_days: -15", "negative"),
    ("until: 2023-05-13", "until: 2023-06-30", "overlap"),
])
def test_a_policy_mistake_stops_the_worker_with_file_line_and_problem(tmp_path, old, new, problem):
    path, line = policies_with(tmp_path, old, new)
    result = run_worker(tmp_path, TRACKER_POLICY_DIR=str(path.parent))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()
    assert len(message) == 1, result.stderr
    assert path.name in message[0] and problem in message[0]
    if problem == "negative":
        assert f"line {line}" in message[0]


def test_a_bad_setting_names_the_variable(tmp_path):
    result = run_worker(tmp_path, TRACKER_TICK_SECONDS="soon")
    assert result.returncode == 2
    assert result.stderr.strip() == "catalog-tracker worker: TRACKER_TICK_SECONDS='soon' is not a number"
