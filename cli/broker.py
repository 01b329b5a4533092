"""``catalog-tracker broker [--port]``: run the bundled Tansu broker until Ctrl-C."""
from __future__ import annotations

import argparse
import signal
import threading

from config.settings import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("broker", help="run the bundled Kafka-compatible broker (Tansu, in memory)")
    parser.add_argument("--port", type=int, default=None,
                        help="port to listen on (default: the port of KAFKA_BOOTSTRAP_SERVERS, 19092)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.set_defaults(func=run)


def default_port(settings: Settings) -> int:
    first = settings.kafka_bootstrap_servers.split(",")[0].strip()
    return int(first.rsplit(":", 1)[1]) if ":" in first else 9092


def run(args: argparse.Namespace) -> int:
    from streams.broker import BrokerError, start_local_broker

    port = args.port or default_port(Settings.from_env())
    try:
        broker = start_local_broker(port=port, host=args.host)
    except BrokerError as exc:
        print(f"catalog-tracker broker: {exc}")
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Tansu broker on {broker.bootstrap_servers} (memory storage; Ctrl-C stops it)", flush=True)
    try:
        while not stop.is_set() and broker.process.poll() is None:
            stop.wait(0.5)
    finally:
        broker.stop()
    return 0 if broker.process.returncode in (0, -signal.SIGTERM, None) or stop.is_set() else 1
