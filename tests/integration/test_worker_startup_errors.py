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
    environ = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    environ.update(env)
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


def test_an_escalation_ladder_mistake_stops_the_worker_at_once_while_the_database_is_down(tmp_path):
    """The ladder is configuration like the policies: read before anything connects, so a mistake is one line."""
    ladder = tmp_path / "escalation.yaml"
    text = (CONFIG_DIR / "escalation.yaml").read_text(encoding="utf-8")
    ladder.write_text(text.replace("level: red", "level: purple", 1), encoding="utf-8")
    result = run_worker(tmp_path, TRACKER_ESCALATION_FILE=str(ladder),
                        DATABASE_URL="postgresql+psycopg2://postgres@127.0.0.1:1/none")
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and "escalation.yaml" in message[0] and "purple" in message[0], result.stderr


def test_a_bad_setting_names_the_variable(tmp_path):
    result = run_worker(tmp_path, TRACKER_TICK_SECONDS="soon")
    assert result.returncode == 2
    assert result.stderr.strip() == "catalog-tracker worker: TRACKER_TICK_SECONDS='soon' is not a number"


# ---------------------------------------------------------------- a database or a broker that does not answer

def closed_port() -> int:
    from streams.broker import free_port

    return free_port()  # bound and released: nothing listens there


def start_worker(tmp_path: Path, *args: str, **env) -> subprocess.Popen:
    environ = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}", PYTHONUNBUFFERED="1")
    environ.update(env)
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--no-api", *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("part, env", [
    ("database", {"DATABASE_URL": "postgresql+psycopg2://tracker:s3cret@127.0.0.1:{port}/tracker"}),
    ("broker", {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:{port}"}),
])
def test_a_worker_started_while_a_dependency_is_down_says_so_in_one_line_and_exits_75(tmp_path, part, env):
    port = closed_port()
    environ = {name: value.format(port=port) for name, value in env.items()}
    environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{closed_port()}")  # the database is asked first
    result = run_worker(tmp_path, **environ)
    assert result.returncode == 75, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"the {part} at " in lines[0] and f":{port}" in lines[0] and "does not answer" in lines[0]
    assert "connection refused" in lines[0] and "--wait-for-dependencies" in lines[0]
    assert "s3cret" not in result.stderr  # the password is not printed


def test_a_worker_waiting_for_its_dependencies_says_so_once_and_stops_at_once_on_sigterm(tmp_path):
    import signal
    import time

    from streams.broker import wait_until

    port = closed_port()
    process = start_worker(tmp_path, "--wait-for-dependencies",
                           DATABASE_URL=f"postgresql+psycopg2://postgres@127.0.0.1:{port}/tracker",
                           KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{closed_port()}")
    lines: list[str] = []
    try:
        import threading

        reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
        reader.start()
        wait_until(lambda: any("waiting" in line for line in lines), 30, what="the worker's waiting line")
        assert process.poll() is None  # it waits instead of exiting
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=30)
        elapsed = time.monotonic() - started
        reader.join(5)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == 0 and elapsed < 3, (status, elapsed, lines)
    text = "".join(lines)
    assert "Traceback" not in text
    waiting = [line for line in lines if "waiting" in line]
    assert len(waiting) == 1 and f"the database at postgresql+psycopg2://postgres@127.0.0.1:{port}/tracker" \
                                  f" does not answer (connection refused)" in waiting[0], lines
    assert lines[-1].strip() == "catalog-tracker worker: stopped before it started"
