"""``catalog-tracker worker``: stream processors + scheduler + outbox relay + HTTP API in one process."""
from __future__ import annotations

import argparse
import sys

EPILOG = """exit status:
  0   stopped by SIGTERM or SIGINT (Ctrl-C), whether or not the database and the broker answered
  2   a mistake in a setting or in a file under config/ (one line names it)
  75  the database or the broker does not answer (without --wait-for-dependencies); start it again later
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "worker", help="run the stream processors, the scheduler, the outbox relay and the HTTP API",
        description="Consumes the input topics, keeps obligations in SQL, sends reminders and violations. "
                    "Several workers may run at once (one consumer group; one of them relays and ticks).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-api", action="store_true", help="do not serve the HTTP API from this process")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--wait-for-dependencies", action="store_true",
                        help="while the database or the broker does not answer at start, wait for it (one line "
                             "says so) instead of exiting with status 75")
    parser.add_argument("--grace-seconds", type=float, default=None,
                        help="after SIGTERM/SIGINT, the process ends at the latest after this long (default 5)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from config.bootstrap import build_configuration, build_worker
    from config.logs import configure_before_faust
    from config.settings import Settings
    from streams.startup import EXIT_UNAVAILABLE, Stopped, Stopping, UnavailableError, start_worker
    from streams.worker import EXIT_STOPPED, GRACE_SECONDS

    def say(text: str) -> None:
        print(f"catalog-tracker worker: {text}", file=sys.stderr, flush=True)

    settings = Settings.from_env()
    configure_before_faust(settings, args.loglevel)
    configuration = build_configuration(settings)  # a mistake in config/: one line, exit 2 (cli.main), at once
    with Stopping() as stopping:  # until Faust installs its own handlers: a signal only sets a flag
        try:
            worker = start_worker(settings, lambda: build_worker(settings, with_api=not args.no_api,
                                                                 configuration=configuration),
                                  wait=args.wait_for_dependencies, stopping=stopping, say=say)
        except Stopped:
            say("stopped before it started")
            return EXIT_STOPPED
        except UnavailableError as exc:
            say(f"{exc}; exiting with status {EXIT_UNAVAILABLE} (start it again once it answers, or use "
                "--wait-for-dependencies)")
            return EXIT_UNAVAILABLE
        grace = args.grace_seconds if args.grace_seconds is not None else GRACE_SECONDS
        return worker.run(loglevel=args.loglevel, grace_seconds=grace, stop_requested=lambda: stopping.requested)
