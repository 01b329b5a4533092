"""``catalog-tracker up``: bundled broker, worker on SQLite, HTTP API, demo feed; Ctrl-C stops it all."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from streams.broker import free_port, port_answers, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


class Output:
    """Collects a process's stdout lines in a thread, so the test can poll them."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def find(self, pattern: str) -> re.Match | None:
        return next((m for m in (re.search(pattern, line) for line in self.lines) if m), None)


def interrupt(process: subprocess.Popen) -> None:
    """Send what Ctrl-C sends and wait for the process to end (killed, and the test failed, if it hangs)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_up_starts_everything_publishes_the_demo_and_stops_on_ctrl_c(tmp_path: Path, topic_prefix):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("TRACKER_") and key not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    http_port = free_port()
    env.update(TRACKER_HTTP_PORT=str(http_port), TRACKER_TOPIC_PREFIX=topic_prefix, PYTHONUNBUFFERED="1",
               DATABASE_URL=f"sqlite:///{tmp_path / 'quickstart.db'}")
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "up"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(process.stdout)
    broker_port = None
    try:
        def ready():
            assert process.poll() is None, "up exited early:\n" + "\n".join(output.lines) + _worker_log(tmp_path)
            return output.find(r"Dashboard\s+(http://\S+)/")

        dashboard = wait_until(ready, 180, interval=0.1, what="up to print the dashboard address")
        base = dashboard.group(1)
        assert base == f"http://127.0.0.1:{http_port}"
        broker = output.find(r"\(Tansu\)\s+127\.0\.0\.1:(\d+)")
        assert broker, "up must start the bundled broker when KAFKA_BOOTSTRAP_SERVERS is not set"
        broker_port = int(broker.group(1))

        status, health = get_json(base + "/api/health")
        assert status == 200 and health["status"] == "ok"

        demo_departments = {"wjj", "jyj", "mzj", "scjgj", "xzspfwj", "swj", "zjj", "cgj", "rsj"}

        def demo_obligations():  # the feed's topics are applied in any order: wait for every department's
            _, answer = get_json(base + "/api/obligations?limit=1000")
            items = answer["obligations"] if isinstance(answer, dict) else answer
            return items if demo_departments <= {o["department"] for o in items} else None

        obligations = wait_until(demo_obligations, 90, interval=0.2, what="the demo feed's obligations")
        statuses = {o["department"]: o["status"] for o in obligations if o["kind"] == "catalog-update"}
        assert statuses["mzj"] == "overdue" and statuses["xzspfwj"] == "open" and statuses["wjj"] == "completed"

        expected = {("mzj", "overdue"), ("jyj", "overdue"), ("jyj", "share-scope-narrowed"),
                    ("wjj", "sensitive-data-opened"),
                    # the catalog register's rules (issue 12), all shown by 区发展和改革局's catalog
                    ("fgj", "overdue"), ("fgj", "unauthorised-channel"), ("fgj", "closed-data-opened"),
                    ("fgj", "share-scope-narrowed")}

        def violations_found():
            _, answer = get_json(base + "/api/violations?limit=1000")
            found = {(v["department"], v["rule"]) for v in answer["violations"]}
            return found if expected <= found else None

        found = wait_until(violations_found, 60, interval=0.2, what="the demo's violations")
        assert ("wjj", "overdue") not in found, "the on-time update must not be judged overdue"
        wait_until(lambda: get_json(base + "/api/unmatched")[1]["total"] == 1, 30, interval=0.2,
                   what="the demo's aggregation for a resource in no catalog, listed as unmatched")
        # the demo's last message is not a CloudEvent: the worker rejects it (dead letter) and goes on
        wait_until(lambda: get_json(base + "/api/health")[1]["worker"]["ingest"]["rejected"] >= 1, 30,
                   interval=0.1, what="the demo's bad message to be rejected")
        # The violations reach the heads and the data resource center in up's own mail catcher (issue 14).
        assert output.find(r"local mail catcher smtp://127\.0\.0\.1:\d+")
        mail = wait_until(lambda: output.find(r"mail\s+→ (\S+@example\.gov\.cn).*【红色预警】.*\((vi-[0-9a-f]{32})"), 60,
                          interval=0.1, what="a violation mailed to the local mail catcher")
        # the heads of the demo's departments with violations (jyj, mzj, wjj) and the data resource center
        assert mail.group(1) in {"wangwu@example.gov.cn", "zhangsan@example.gov.cn", "chensan@example.gov.cn",
                                 "zhushi@example.gov.cn", "qinyi@example.gov.cn"}
        _, delivery = get_json(base + "/api/delivery")
        assert delivery["channels"] == ["email"] and {"department": "cgj", "department_name": "区城市管理和综合执法局",
                                                      "lacks": ["staff", "head"]} in delivery["missing_contacts"]
    finally:
        interrupt(process)
    assert process.returncode == 0, "\n".join(output.lines)
    assert not port_answers("127.0.0.1", http_port), "the worker's HTTP API still answers after Ctrl-C"
    if broker_port is not None:
        assert not port_answers("127.0.0.1", broker_port), "the bundled broker still runs after Ctrl-C"
    assert_one_stop_line(output)


def test_up_replay_plays_the_demo_weeks_on_a_simulated_clock(tmp_path: Path, topic_prefix):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("TRACKER_") and key not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    http_port = free_port()
    env.update(TRACKER_HTTP_PORT=str(http_port), TRACKER_TOPIC_PREFIX=topic_prefix, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--replay", "--speed", str(86400 * 20)],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(process.stdout)
    try:
        def done():
            assert process.poll() is None, "up --replay exited early:\n" + "\n".join(output.lines)
            return output.find(r"replay done .*obligations (\d+)")

        finished = wait_until(done, 180, interval=0.1, what="the demo replay to finish")
        assert int(finished.group(1)) > 9  # the nine deadline duties and the catalog register's
        assert output.find(rf"Dashboard\s+http://127\.0\.0\.1:{http_port}/")
        base = f"http://127.0.0.1:{http_port}"
        _, health = get_json(base + "/api/health")
        assert health["now"].endswith("T00:00:00+08:00")  # the clock stopped at today 00:00
        _, answer = get_json(base + "/api/obligations?limit=1000")
        assert len([o for o in answer["obligations"] if o["kind"] in ("catalog-update", "data-verification")]) == 9
        periods = {(o["resource_code"], o["period"]): o for o in answer["obligations"]
                   if o["kind"] == "data-aggregation"}
        assert periods and all(o["department"] == "fgj" for o in periods.values())
        statuses = {o["department"]: (o["status"], o["on_time"]) for o in answer["obligations"]
                    if o["kind"] == "catalog-update"}
        assert statuses["mzj"] == ("overdue", None) and statuses["jyj"] == ("completed", False)
        assert statuses["wjj"] == ("completed", True) and statuses["swj"] == ("open", None)
        _, answer = get_json(base + "/api/violations?limit=1000")
        overdue = {v["department"]: v["detected_at"] for v in answer["violations"] if v["rule"] == "overdue"
                   and v["obligation"] == "catalog-update"}
        # found when the deadline ended (24:00 of the due day), not when the replay happened to run
        assert set(overdue) == {"mzj", "jyj"} and overdue["mzj"].endswith("T00:00:00+08:00")
        missed = [v for v in answer["violations"] if v["obligation"] == "data-aggregation"]
        assert missed and all(v["detected_at"].endswith("T00:00:00+08:00") for v in missed)
    finally:
        interrupt(process)
    assert process.returncode == 0, "\n".join(output.lines)
    assert not port_answers("127.0.0.1", http_port)


STOP_LINE = "已停止 / stopped"


def assert_one_stop_line(output: Output) -> None:
    """A stop the person asked for: one line at the end, and no "error" anywhere."""
    wait_until(lambda: output.lines and output.lines[-1], 5, what="up's last line")
    text = "\n".join(output.lines)
    assert output.lines[-1].strip() == STOP_LINE, text
    assert sum(STOP_LINE in line for line in output.lines) == 1, text
    assert "error" not in text.lower() and "Traceback" not in text, text


def up_env(tmp_path: Path, topic_prefix: str, **extra: str) -> tuple[dict[str, str], int]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("TRACKER_") and key not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    http_port = free_port()
    env.update(TRACKER_HTTP_PORT=str(http_port), TRACKER_TOPIC_PREFIX=topic_prefix, PYTHONUNBUFFERED="1",
               DATABASE_URL=f"sqlite:///{tmp_path / 'quickstart.db'}", **extra)
    return env, http_port


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_make_run_stopped_like_a_terminal_ctrl_c_ends_with_one_line_and_status_0(tmp_path: Path, topic_prefix):
    """The report of issue 15: ``make run`` started as a background job (SIGINT inherited ignored) and
    stopped with SIGINT to its whole process group, as a terminal's Ctrl-C does to the foreground group.
    It used to end with "the worker exited with status 0" and "make: *** [Makefile:19: run] Error 1"."""
    import shutil

    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    repo = Path(__file__).resolve().parents[2]
    venv = Path(sys.executable).parent.parent  # the tests run in the environment make installs (.venv)
    (tmp_path / "pyproject.toml").symlink_to(repo / "pyproject.toml")  # the Makefile's install prerequisite
    command = [make, "-f", str(repo / "Makefile"), f"VENV={venv}", "run"]
    if subprocess.run([make, "-q", "-f", str(repo / "Makefile"), f"VENV={venv}", "install"], cwd=tmp_path).returncode:
        pytest.skip("the virtual environment is not installed by make (make install first)")
    env, http_port = up_env(tmp_path, topic_prefix)
    # as typed at a terminal: not inside another make (CI's `make test` would make it print "Entering directory")
    for inherited in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
        env.pop(inherited, None)
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, preexec_fn=ignore_sigint)
    output = Output(process.stdout)
    try:
        def ready():
            assert process.poll() is None, "make run exited early:\n" + "\n".join(output.lines)
            return output.find(r"Ctrl-C to stop")

        wait_until(ready, 180, interval=0.1, what="make run to say it runs")
        worker_pid = int(output.find(r"worker\s+pid (\d+)").group(1))
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends the foreground process group
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert status == 0, "\n".join(output.lines)
    assert_one_stop_line(output)  # make said nothing either: no "Error"
    assert not port_answers("127.0.0.1", http_port)
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)  # the worker is gone too


def test_up_waits_for_the_broker_and_a_worker_stopped_on_purpose_ends_it_with_status_0(tmp_path: Path,
                                                                                        topic_prefix):
    from streams.broker import start_local_broker

    broker_port = free_port()
    env, http_port = up_env(tmp_path, topic_prefix, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{broker_port}")
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--no-demo"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(process.stdout)
    broker = None
    try:
        waiting = wait_until(lambda: process.poll() is None and output.find(r"waiting: the broker at (\S+)"), 60,
                             interval=0.1, what="up to say it waits for the broker")
        assert waiting.group(1) == f"127.0.0.1:{broker_port}"
        assert process.poll() is None
        broker = start_local_broker(port=broker_port, log_file=tmp_path / "tansu.log")
        wait_until(lambda: process.poll() is None and output.find(r"Dashboard\s+http://"), 120, interval=0.1,
                   what="up to start once the broker answers")
        worker_pid = int(output.find(r"worker\s+pid (\d+)").group(1))
        os.kill(worker_pid, signal.SIGTERM)  # someone stops the worker on purpose
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            interrupt(process)
        if broker is not None:
            broker.stop()
    text = "\n".join(output.lines)
    assert status == 0, text
    assert sum("waiting:" in line for line in output.lines) == 1, text
    assert output.lines[-1].startswith(STOP_LINE) and "error" not in text.lower(), text
    assert not port_answers("127.0.0.1", http_port)


def test_up_says_error_only_when_the_worker_really_fails(tmp_path: Path, topic_prefix):
    env, http_port = up_env(tmp_path, topic_prefix)
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--no-demo"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(process.stdout)
    try:
        wait_until(lambda: process.poll() is None and output.find(r"Dashboard\s+http://"), 180, interval=0.1,
                   what="up to start")
        worker_pid = int(output.find(r"worker\s+pid (\d+)").group(1))
        os.kill(worker_pid, signal.SIGKILL)  # the worker dies: a real failure
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            interrupt(process)
    text = "\n".join(output.lines)
    assert status == 1, text
    assert output.find(r"catalog-tracker up: error: the worker exited with status -9; see "), text
    assert STOP_LINE not in text


def _worker_log(tmp_path: Path) -> str:
    log = tmp_path / "var" / "catalog-tracker-worker.log"
    return "\n--- worker log ---\n" + log.read_text(errors="replace")[-4000:] if log.exists() else ""
