"""``catalog-tracker worker`` in a subprocess: the one helper ``up``, ``replay`` and the e2e tests start it with.

Start it with an environment (its HTTP port set), wait until ``GET /api/health``
answers, stop it with SIGTERM and, when it has not ended after a grace period,
SIGKILL; ``log_tail()`` shows what it said when something went wrong.

The worker runs in a session of its own, so a Ctrl-C in the terminal reaches
only the command that started it, which then stops the worker itself (one
stop, in one order, whatever the terminal does).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Sequence


class WorkerExited(RuntimeError):
    """The worker process ended while it was expected to run."""

    def __init__(self, status: int | None, log_path: Path):
        super().__init__(f"the worker exited with status {status}; see {log_path}")
        self.status = status


def http_json(method: str, url: str, timeout: float = 10.0, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON body, or text when it is not JSON); OSError when nothing answers."""
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode("utf-8", "replace")


class WorkerProcess:
    """One ``catalog-tracker worker`` subprocess, its HTTP port and its log file."""

    def __init__(self, env: dict[str, str], log_path: Path, *, args: Sequence[str] = (), host: str = "127.0.0.1",
                 port: int | None = None, cwd: Path | None = None):
        from streams.broker import free_port

        self.host = host
        self.port = port or free_port(host)
        self.env = dict(env, TRACKER_HTTP_PORT=str(self.port))
        self.log_path = Path(log_path)
        self.args = tuple(args)
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "WorkerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "worker", *self.args], cwd=self.cwd,
                                        env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    @property
    def base_url(self) -> str:
        from cli.api_client import url_host

        return f"http://{url_host(self.host)}:{self.port}"

    # ------------------------------------------------------------ asking it (with the tokens of its environment)

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, Any]:
        from cli.api_client import bearer

        token = self.env.get("TRACKER_READ_TOKEN") or self.env.get("TRACKER_API_TOKEN", "")
        return http_json("GET", self.base_url + path, timeout, bearer(token))

    def post(self, path: str, timeout: float = 10.0) -> tuple[int, Any]:
        from cli.api_client import bearer

        return http_json("POST", self.base_url + path, timeout, bearer(self.env.get("TRACKER_API_TOKEN", "")))

    def health(self, timeout: float = 10.0) -> dict | None:
        """The body of ``GET /api/health`` when it answers 200; None while the worker is not (fully) up."""
        try:
            status, body = self.get("/api/health", timeout)
        except (OSError, ValueError):
            return None
        return body if status == 200 and isinstance(body, dict) else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        """Raise ``WorkerExited`` when the process has ended."""
        if self.process is not None and self.process.poll() is not None:
            raise WorkerExited(self.process.returncode, self.log_path)

    def wait_healthy(self, timeout: float = 60.0, interval: float = 0.1) -> dict:
        """Poll ``/api/health`` until it answers 200 (its body); ``WorkerExited`` or ``TimeoutError`` otherwise."""
        from streams.broker import wait_until

        def healthy():
            self.check_alive()
            return self.health()

        return wait_until(healthy, timeout, interval=interval, what="the worker's /api/health")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------ ending it

    def wait(self, timeout: float | None = None) -> int:
        """Block until the worker ends; its exit status."""
        return self.process.wait(timeout) if self.process is not None else 0

    def stop(self, grace: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL when it has not ended after ``grace`` seconds; its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        return self.process.returncode

    def kill(self) -> None:
        """kill -9: no shutdown, no offset commit, no lease release."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
