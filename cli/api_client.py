"""How the CLI talks to a running tracker's HTTP API: its base URL and the tokens from the environment.

Not a sub-command (no ``register``: ``cli.main`` does not list it). Used by
``calendar reload`` and by ``cli.worker_process`` (``up``, ``replay`` and the e2e tests poll
``/api/health`` through it), so that they work when the tracker has ``TRACKER_READ_TOKEN`` set.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


class ApiUnreachable(Exception):
    """Nothing answered at the URL (connection refused, timeout, unknown host)."""


def url_host(bind_host: str) -> str:
    """The host to reach a server bound to ``bind_host`` at: a wildcard bind (0.0.0.0) on 127.0.0.1,
    a name the API accepts in its Host header; an IPv6 address in brackets."""
    host = bind_host.strip()
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def base_url(settings) -> str:
    """``http://host:port`` of the tracker these settings describe."""
    return f"http://{url_host(settings.http_host)}:{settings.http_port}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def read_headers(settings) -> dict[str, str]:
    """The read token, or the API token (it reads too), as a Bearer header; none when neither is set."""
    return bearer(settings.read_token or settings.api_token)


def write_headers(settings) -> dict[str, str]:
    return bearer(settings.api_token)


def call(method: str, url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, Any]:
    """(status, JSON body) of one request; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json", **(headers or {})},
                                     data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiUnreachable(str(reason)) from None
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, body.decode("utf-8", "replace")
