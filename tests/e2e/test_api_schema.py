"""schemathesis against a real worker with the demo data: /api/openapi.json says what the API really does.

For every operation of the description, schemathesis generates requests within its parameters
(a bounded number of examples) and checks each answer: not a server error, a status the operation
documents, the documented content type, and a body that matches the documented schema. Once with
reads open (and writes enabled by TRACKER_API_TOKEN), once with TRACKER_READ_TOKEN set and sent.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.demo_worker import API_TOKEN, READ_TOKEN, bearer, request, start_demo_worker
from tests.e2e.harness import Pipeline

pytestmark = [pytest.mark.broker, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def _schema(worker, headers: dict[str, str]):
    status, _, spec = request("GET", worker.base_url + "/api/openapi.json", headers)
    assert status == 200, spec
    schema = schemathesis.openapi.from_dict(spec)
    schema.config.update(base_url=worker.base_url)
    return schema


@pytest.fixture
def open_reads(bootstrap_servers, topic_prefix, postgres_url, tmp_path):
    """A worker on PostgreSQL with the demo applied; reads open, writes with TRACKER_API_TOKEN."""
    pipeline = Pipeline(bootstrap_servers, topic_prefix, postgres_url, tmp_path)
    try:
        worker = start_demo_worker(pipeline, TRACKER_API_TOKEN=API_TOKEN)
        yield _schema(worker, {}), bearer(API_TOKEN), worker
    finally:
        pipeline.close()


@pytest.fixture
def read_token(bootstrap_servers, topic_prefix, sqlite_url, tmp_path):
    """A worker on SQLite with the demo applied and TRACKER_READ_TOKEN set (no API token: writes refused)."""
    pipeline = Pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
    try:
        worker = start_demo_worker(pipeline, TRACKER_READ_TOKEN=READ_TOKEN)
        yield _schema(worker, bearer(READ_TOKEN)), bearer(READ_TOKEN), worker
    finally:
        pipeline.close()


def run_schemathesis(schema, headers: dict[str, str], worker) -> int:
    """Every operation, positive and negative examples; returns how many requests were checked.

    (schemathesis's ``pytest.from_fixture`` loader does not run on pytest 9, which dropped the node
    attribute it renames; ``APIOperation.as_strategy`` with Hypothesis's ``@given`` is the same generation.)
    """
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not operation.path_parameters and not operation.query:
                continue  # nothing to make invalid

            @EXAMPLES
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                nonlocal checked
                case.call_and_validate(headers=headers, checks=CHECKS)
                checked += 1

            try:
                check()
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collect every operation's failures, then report
                failures.append(f"{operation.label} ({mode.value}): {exc}")
            worker.check_alive()
    assert not failures, "\n\n".join(failures)
    print(f"schemathesis: {checked} requests checked, 0 failures")
    return checked


def test_the_api_does_what_its_description_says(open_reads):
    schema, headers, worker = open_reads
    assert run_schemathesis(schema, headers, worker) >= 100


def test_the_api_does_what_its_description_says_with_a_read_token(read_token):
    schema, headers, worker = read_token
    assert run_schemathesis(schema, headers, worker) >= 100
    status, _, body = request("GET", worker.base_url + "/api/obligations")
    assert status == 401 and "TRACKER_READ_TOKEN" in body["error"]
