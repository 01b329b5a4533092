"""``catalog-tracker watch violations|reminders|obligations``: follow a notification topic.

One readable line per event (department name, article, due date,
explanation), or ``--json`` for one JSON object per line. Without ``--group``
the watcher reads every partition and stores no position; with ``--group G``
several watchers share the partitions and the group's position is kept.
"""
from __future__ import annotations

import argparse
import sys

from streams.subscriber import WATCHABLE


def register(subparsers) -> None:
    parser = subparsers.add_parser("watch", help="follow reminders, violations or obligation changes",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stream", choices=sorted(WATCHABLE), help="which notification topic to follow")
    parser.add_argument("--json", action="store_true", help="one JSON object per line, for machines")
    parser.add_argument("--from-beginning", action="store_true",
                        help="start at the oldest event (where the group has no stored position)")
    parser.add_argument("--group", help="consumer group: watchers in one group share the work")
    parser.add_argument("--max-events", type=int, help="stop after this many events")
    parser.add_argument("--idle-timeout", type=float, help="stop after this many seconds without an event")
    parser.add_argument("--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS or config/defaults.toml")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from config.settings import Settings
    from streams.subscriber import follow, load_department_names, render_json, render_line

    settings = Settings.from_env()
    names = load_department_names(settings.departments_file)
    render = render_json if args.json else render_line
    topic = settings.topic(WATCHABLE[args.stream])
    count = 0
    try:
        for notification in follow(args.bootstrap_servers or settings.kafka_bootstrap_servers, topic,
                                   group=args.group, from_beginning=args.from_beginning,
                                   idle_timeout=args.idle_timeout, session_timeout=settings.broker_session_timeout,
                                   fetch_max_wait_ms=settings.fetch_max_wait_ms,
                                   on_ready=lambda n: print(f"watching {topic} ({n} partitions)", file=sys.stderr,
                                                            flush=True)):
            print(render(notification, names), flush=True)
            count += 1
            if args.max_events is not None and count >= args.max_events:
                break
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - a broker problem: say so, exit 1
        print(f"catalog-tracker watch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
