"""``catalog-tracker api``: the HTTP API alone (reads SQL; for docker-compose's api service)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("api", help="serve the HTTP API only (no stream processing)")
    parser.add_argument("--host", default=None, help="default: TRACKER_HTTP_HOST")
    parser.add_argument("--port", type=int, default=None, help="default: TRACKER_HTTP_PORT")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from api.app import build_api
    from config.bootstrap import build_api_context
    from config.logs import configure
    from config.settings import Settings

    settings = Settings.from_env()
    configure(settings, "INFO", stream="ext://sys.stderr")  # TRACKER_LOG_FORMAT
    application = build_api(build_api_context(settings))
    web.run_app(application, host=args.host or settings.http_host, port=args.port or settings.http_port,
                access_log=None, print=lambda text: print(text, flush=True))
    return 0
