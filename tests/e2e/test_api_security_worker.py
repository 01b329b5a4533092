"""The API's protections on a real ``catalog-tracker worker`` process, and ``catalog-tracker calendar reload``.

One worker with TRACKER_API_TOKEN, TRACKER_READ_TOKEN and TRACKER_ALLOWED_HOSTS set, the demo applied:
what a DNS-rebinding page, an anonymous reader, a reader with the token and the operator's CLI each get.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from api.security import CONTENT_SECURITY_POLICY
from streams.broker import free_port
from tests.e2e.demo_worker import API_TOKEN, READ_TOKEN, bearer, request, start_demo_worker
from tests.e2e.harness import REPO, Pipeline

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def sqlite_pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path):
    """The protections sit in front of SQL: one backend is enough here (test_api_security runs both)."""
    pipeline = Pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
    try:
        yield pipeline
    finally:
        pipeline.close()


@pytest.fixture
def guarded_worker(sqlite_pipeline):
    return start_demo_worker(sqlite_pipeline, TRACKER_API_TOKEN=API_TOKEN, TRACKER_READ_TOKEN=READ_TOKEN,
                             TRACKER_ALLOWED_HOSTS="tracker.yuhua.gov.cn")


def reload_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", "calendar", "reload", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_real_worker_guards_its_api(guarded_worker):
    base = guarded_worker.base_url
    port = guarded_worker.port
    # a DNS-rebinding page: its requests carry its own name
    status, headers, body = request("GET", base + "/api/obligations", {"Host": f"rebinding.example:{port}",
                                                                       **bearer(READ_TOKEN)})
    assert status == 421 and "TRACKER_ALLOWED_HOSTS" in body["error"]
    assert request("GET", base + "/api/departments", {"Host": f"tracker.yuhua.gov.cn:{port}",
                                                     **bearer(READ_TOKEN)})[0] == 200
    # anonymous reads and writes
    status, headers, body = request("GET", base + "/api/obligations")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert request("POST", base + "/api/calendar/reload", bearer(READ_TOKEN))[0] == 403
    # the reader with the token sees the demo: an overdue obligation among others
    status, headers, body = request("GET", base + "/api/obligations?limit=1000", bearer(READ_TOKEN))
    assert status == 200 and "overdue" in {o["status"] for o in body["obligations"]}
    assert headers["Server"] == "catalog-tracker" and headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    # the page loads without the token (it asks for it) and carries the same headers
    status, headers, page = request("GET", base + "/")
    assert status == 200 and headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    # bad parameters and methods
    status, _, body = request("GET", base + "/api/obligations?offset=99999999999999999999999", bearer(READ_TOKEN))
    assert status == 400 and body["parameter"] == "offset"
    status, headers, body = request("DELETE", base + "/api/obligations", bearer(API_TOKEN))
    assert status == 405 and headers["Allow"] == "GET, HEAD" and body["status"] == 405
    guarded_worker.check_alive()


def test_calendar_reload_from_the_command_line(guarded_worker):
    env = dict(guarded_worker.env)
    done = reload_cli(dict(env, TRACKER_API_TOKEN=API_TOKEN), "--url", guarded_worker.base_url)
    assert done.returncode == 0, done.stderr
    assert "obligations rescheduled: 0" in done.stdout and "years now official" in done.stdout

    # the CLI finds the worker from TRACKER_HTTP_PORT when no --url is given
    assert reload_cli(dict(env, TRACKER_API_TOKEN=API_TOKEN)).returncode == 0

    refused = reload_cli(dict(env, TRACKER_API_TOKEN="not-the-token-0123456789"), "--url", guarded_worker.base_url)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "HTTP 401" in refused.stderr and "Traceback" not in refused.stderr

    no_token = dict(env)
    no_token.pop("TRACKER_API_TOKEN")
    refused = reload_cli(no_token, "--url", guarded_worker.base_url)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "TRACKER_API_TOKEN is not set in this environment" in refused.stderr

    nobody = reload_cli(dict(env, TRACKER_API_TOKEN=API_TOKEN), "--url", f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 75 and nobody.stderr.count("\n") == 1
    assert "nothing answers at" in nobody.stderr and "Traceback" not in nobody.stderr
    guarded_worker.check_alive()


def test_calendar_reload_when_the_worker_refuses_writes(sqlite_pipeline):
    worker = start_demo_worker(sqlite_pipeline)  # no TRACKER_API_TOKEN on the server
    refused = reload_cli(dict(worker.env, TRACKER_API_TOKEN=API_TOKEN), "--url", worker.base_url)
    assert refused.returncode == 1 and "HTTP 403" in refused.stderr and "writes are disabled" in refused.stderr


def test_calendar_reload_reports_the_deadlines_a_new_notice_moves(sqlite_pipeline, tmp_path):
    """2026's notice is added while the worker runs on a calendar without it: the CLI's reload moves deadlines."""
    import shutil

    from config.settings import CONFIG_DIR

    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    notice = calendar_dir / "2026.yaml"
    text = notice.read_text(encoding="utf-8")
    notice.unlink()
    # no tick for an hour: the worker's own file watcher (it runs on the tick) must not reload first
    worker = start_demo_worker(sqlite_pipeline, TRACKER_API_TOKEN=API_TOKEN, TRACKER_CALENDAR_DIR=str(calendar_dir),
                               TRACKER_TICK_SECONDS="3600")
    before = request("GET", worker.base_url + "/api/obligations?status=open&limit=1000")[2]["obligations"]
    assert before and all(o["provisional"] for o in before)
    notice.write_text(text, encoding="utf-8")
    done = reload_cli(dict(worker.env), "--url", worker.base_url)
    assert done.returncode == 0, done.stderr
    after = {o["id"]: o for o in request("GET", worker.base_url + "/api/obligations?status=open&limit=1000")[2][
        "obligations"]}
    moved = [o["id"] for o in before if (o["due_date"], o["provisional"]) != (after[o["id"]]["due_date"],
                                                                           after[o["id"]]["provisional"])]
    assert moved and f"obligations rescheduled: {len(moved)}" in done.stdout  # now official, some dates moved
    assert "years now official: 2026" in done.stdout
