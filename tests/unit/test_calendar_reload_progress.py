"""``catalog-tracker calendar reload`` shows a long reschedule's progress while its POST is answered.

A small HTTP server stands for the tracker: its POST /api/calendar/reload answers only once the CLI has
polled GET /api/calendar/reschedule three times (the job moving on between polls), so the progress lines
are printed before the answer, each figure once.
"""
from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cli import calendar_reload

JOBS = [{"id": 7, "state": "running", "candidates": 6000, "examined": 2000, "moved": 1900},
        {"id": 7, "state": "running", "candidates": 6000, "examined": 2000, "moved": 1900},  # no news: said once
        {"id": 7, "state": "running", "candidates": 6000, "examined": 4000, "moved": 3800}]


@pytest.fixture
def tracker_api():
    polls: list[int] = []
    enough = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - http.server's name
            polls.append(1)
            job = JOBS[min(len(polls), len(JOBS)) - 1]
            if len(polls) >= len(JOBS):
                enough.set()
            self._answer({"job": job})

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            assert enough.wait(10), "the CLI never polled the job"
            self._answer({"reloaded": True, "rescheduled": 5700, "examined": 6000, "changed_days": 1, "job": 7,
                          "years_now_official": [], "years_now_provisional": []})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_cli_prints_progress_then_what_was_examined_and_moved(tracker_api, monkeypatch, capsys):
    monkeypatch.setattr(calendar_reload, "PROGRESS_SECONDS", 0.05)
    monkeypatch.setenv("TRACKER_API_TOKEN", "t" * 32)
    assert calendar_reload.run_reload(argparse.Namespace(url=tracker_api)) == 0
    out, err = capsys.readouterr()
    progress = [line for line in err.splitlines() if "rescheduling" in line]
    assert progress == ["调整中 rescheduling (job 7): 已检查 examined 2000 / 6000, 已调整 moved 1900",
                        "调整中 rescheduling (job 7): 已检查 examined 4000 / 6000, 已调整 moved 3800"]
    assert "open obligations examined: 6000" in out and "obligations rescheduled: 5700" in out
