"""``catalog-tracker notify``: delivery alone — reminders and violations to email, DingTalk, WeCom, a webhook."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

NO_CHANNEL = ("catalog-tracker notify: no channel is configured; set at least one of TRACKER_SMTP_URL, "
              "TRACKER_DINGTALK_WEBHOOK, TRACKER_WECOM_WEBHOOK, TRACKER_WEBHOOK_URL (or give a department a robot "
              "in the registry)")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "notify", help="deliver reminders and violations to people (email, DingTalk, WeCom, webhook)",
        description="Reads the reminder and violation topics with its own consumer group, tells the people the "
                    "escalation ladder (config/escalation.yaml) names, and keeps a delivery log in SQL so each "
                    "message goes out once. Several may run; `catalog-tracker worker` also delivers when a "
                    "channel is configured.")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from config.bootstrap import build_notifier
    from config.settings import Settings
    from streams.topics import NOTIFICATION_TOPICS, UNDELIVERABLE, ensure_topics

    logging.basicConfig(level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    settings = Settings.from_env()
    notifier = build_notifier(settings)
    if notifier is None:
        print(NO_CHANNEL, file=sys.stderr)
        return 2
    try:
        ensure_topics(settings.kafka_bootstrap_servers,
                      [settings.topic(name) for name in (*NOTIFICATION_TOPICS, UNDELIVERABLE)],
                      settings.topic_partitions)
    except Exception as exc:  # noqa: BLE001 - say plainly what is wrong instead of a traceback
        print(f"catalog-tracker notify: cannot create or find the topics on "
              f"KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers}: {exc!r}", file=sys.stderr)
        return 1

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(notifier.stop()))
        logging.getLogger(__name__).info("delivering with %s (group %s)", ", ".join(sorted(notifier.runner.channels)),
                                         settings.notifier_group)
        await notifier.run()

    asyncio.run(main())
    return 0
