"""``catalog-tracker worker``: stream processors + scheduler + outbox relay + HTTP API in one process."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "worker", help="run the stream processors, the scheduler, the outbox relay and the HTTP API",
        description="Consumes the input topics, keeps obligations in SQL, sends reminders and violations. "
                    "Several workers may run at once (one consumer group; one of them relays and ticks).")
    parser.add_argument("--no-api", action="store_true", help="do not serve the HTTP API from this process")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--grace-seconds", type=float, default=15.0,
                        help="after SIGTERM/SIGINT, exit at the latest after this long (default 15)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from config.bootstrap import build_worker
    from config.logs import configure_before_faust
    from config.settings import Settings

    settings = Settings.from_env()
    configure_before_faust(settings, args.loglevel)
    worker = build_worker(settings, with_api=not args.no_api)
    return worker.run(loglevel=args.loglevel, grace_seconds=args.grace_seconds)
