"""A real broker for end-to-end tests.

``KAFKA_BOOTSTRAP_SERVERS`` names a broker to use; otherwise one bundled Tansu
broker is started for the whole test session. Tests keep out of each other's
way with a unique topic prefix each (``topic_prefix``).
"""
from __future__ import annotations

import os
import uuid

import pytest

from streams.broker import start_local_broker


@pytest.fixture(scope="session")
def bootstrap_servers(tmp_path_factory):
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    broker = start_local_broker(log_file=log)
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def topic_prefix():
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def pipeline(bootstrap_servers, topic_prefix, database_url, tmp_path):
    """Topics, a file clock, a publisher, an output reader and a way to start real workers.

    Workers are stopped (SIGTERM, then kill) when the test ends, before its database is dropped; then every
    output the test read is checked against the AsyncAPI document (``tests.contract_check``).
    """
    from tests.e2e.harness import Pipeline

    pipe = Pipeline(bootstrap_servers, topic_prefix, database_url, tmp_path)
    try:
        yield pipe
    finally:
        pipe.close()
    # Every output the test read is what the AsyncAPI document describes (schema and fields).
    assert pipe.output.contract_problems == [], "\n".join(pipe.output.contract_problems[:20])
