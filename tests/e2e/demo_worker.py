"""A real worker with the demo feed applied, for the tests that read its HTTP API.

The feed is dated from the pipeline's file clock (2026-03-02), so it holds an overdue obligation, open ones
due soon, completed ones on time and late, violations of every rule and one dead letter.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from models.clock import SHANGHAI
from streams.broker import wait_until
from tests.e2e.harness import Pipeline, WorkerProcess

API_TOKEN = "e2e-api-token-0123456789abcdef"
READ_TOKEN = "e2e-read-token-0123456789abcdef"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def request(method: str, url: str, headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body or text) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, method=method, headers=headers or {},
                                 data=b"" if method not in ("GET", "HEAD") else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, answer_headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, answer_headers, body = exc.code, dict(exc.headers), exc.read()
    try:
        return status, answer_headers, json.loads(body) if body else None
    except ValueError:
        return status, answer_headers, body.decode("utf-8", "replace")


def start_demo_worker(pipeline: Pipeline, **env: str) -> WorkerProcess:
    """Start a worker (extra environment in ``env``), publish the demo feed, wait until it is applied."""
    from config.settings import Settings
    from streams.demo import demo_feed_for, publish_feed
    from streams.publisher import EventPublisher

    worker = pipeline.start_worker(**env)
    worker.wait_healthy(60)  # it sends the read token of its environment
    settings = Settings.from_env({})
    feed = demo_feed_for(settings, pipeline.clock.now.astimezone(SHANGHAI).date())

    def applied(count: int) -> None:
        def messages() -> int:
            worker.check_alive()
            return (worker.health() or {}).get("worker", {}).get("ingest", {}).get("messages", 0)

        wait_until(lambda: messages() >= count, 30, interval=0.05, what=f"{count} demo messages applied")

    with EventPublisher(pipeline.bootstrap_servers, topic_prefix=pipeline.prefix) as publisher:
        sent = publish_feed(publisher, feed, applied)
    applied(sent)
    return worker
