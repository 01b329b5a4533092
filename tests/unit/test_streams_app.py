"""The Faust app's settings that matter on Tansu, checked on the objects Faust builds (no broker needed)."""
from __future__ import annotations

import asyncio

from config.settings import Settings
from streams.app import TunedConsumerThread, build_app


def test_the_consumer_faust_creates_waits_only_fetch_max_wait_ms():
    async def build():
        settings = Settings.from_env({}, fetch_max_wait_ms=7, broker_session_timeout=6.0)
        app = build_app(settings)
        thread = app.consumer._new_consumer_thread()
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return app, thread, consumer
        finally:
            await consumer.stop()

    app, thread, consumer = asyncio.run(build())
    assert isinstance(thread, TunedConsumerThread)
    assert consumer._fetch_max_wait_ms == 7  # Faust alone would pass 1500
    assert consumer._session_timeout_ms == 6000
    assert consumer._enable_auto_commit is False


def test_app_is_built_fresh_without_web_server_tables_or_json_decoding():
    settings = Settings.from_env({}, topic_prefix="p.", topic_partitions=3)
    first, second = build_app(settings), build_app(settings)
    assert first is not second
    assert first.conf.web_enabled is False
    assert first.conf.value_serializer == "raw" and first.conf.key_serializer == "raw"
    assert first.conf.processing_guarantee.value == "at_least_once"
    assert first.conf.topic_partitions == 3
    assert len(first.tables) == 0


def test_the_worker_keeps_the_root_logger_at_its_level_and_no_spinner_off_a_terminal():
    """Faust's worker lowered the root logger to DEBUG for its spinner, so every library debug call built a record."""
    import io
    import logging

    from streams.worker import HardExitingWorker

    app = build_app(Settings.from_env({}))
    worker = HardExitingWorker(app, loglevel="warning", stdout=io.StringIO(), stderr=io.StringIO(),
                               redirect_stdouts=False)
    logger = logging.getLogger("test-root-stand-in")
    logger.addHandler(logging.NullHandler())
    try:
        worker.on_setup_root_logger(logger, logging.WARNING)
        assert logger.level == logging.WARNING
        assert not logger.isEnabledFor(logging.DEBUG)
        assert worker.spinner is None  # a StringIO is not a terminal: no escape codes in a log file
    finally:
        logger.handlers.clear()
