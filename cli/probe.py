"""``catalog-tracker probe [--url URL] [--timeout S] [ready|live]``: ask a running tracker whether it is ready (alive).

``GET /readyz`` (``ready``, the default) or ``GET /healthz`` (``live``) on the tracker's HTTP port, for a
container healthcheck that has no curl in the image (``docker-compose.yml``). Prints one line; exit status
0 when the tracker answered 200, 1 otherwise (not ready, not alive, nothing answering, a bad --url).
"""
from __future__ import annotations

import argparse
import sys
import urllib.parse

EXIT_OK = 0
EXIT_NOT_READY = 1
PATHS = {"ready": "/readyz", "live": "/healthz"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe", help="exit 0 when the running tracker is ready (GET /readyz) or alive (GET /healthz), else 1",
        description="For healthchecks: GET /readyz (ready) or /healthz (live) on the running tracker; exit 0 "
                    "on 200, 1 otherwise, with one line saying why.")
    parser.add_argument("which", nargs="?", choices=sorted(PATHS), default="ready",
                        help="ready (the default): database, broker, partitions and tick; live: the process answers")
    parser.add_argument("--url", help="the tracker's address (default: http://127.0.0.1:TRACKER_HTTP_PORT)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.api_client import ApiUnreachable, base_url, call
    from config.settings import Settings

    settings = Settings.from_env()
    base = (args.url or base_url(settings)).rstrip("/")
    parsed = urllib.parse.urlsplit(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("",):
        print(f"catalog-tracker probe: --url {args.url!r} is not an address like http://127.0.0.1:8080",
              file=sys.stderr)
        return EXIT_NOT_READY
    try:
        status, body = call("GET", base + PATHS[args.which], timeout=args.timeout)
    except ApiUnreachable as exc:
        print(f"catalog-tracker probe: nothing answers at {base} ({exc})", file=sys.stderr)
        return EXIT_NOT_READY
    if status == 200:
        print(f"{args.which}: {base}{PATHS[args.which]} answered 200")
        return EXIT_OK
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    failing = body.get("failing", []) if isinstance(body, dict) else []
    reasons = "; ".join(f"{name}: {checks.get(name, '?')}" for name in failing)
    detail = reasons or (body.get("error") if isinstance(body, dict) else None) or f"status {status}"
    print(f"catalog-tracker probe: not {args.which} ({status}): {detail}", file=sys.stderr)
    return EXIT_NOT_READY
