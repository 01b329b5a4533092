"""Shared fixtures: a fresh database on each supported backend.

``database_url`` runs a test once on SQLite and once on PostgreSQL. The
PostgreSQL run gets a database of its own, dropped afterwards. Outside CI it
skips when no server answers; under ``CI=true`` it must run, so a missing
server fails the test instead.
"""
from __future__ import annotations

import os

import pytest


@pytest.fixture
def postgres_url():
    import sqlalchemy as sa

    from tests.postgres import ADMIN_URL, admin_engine, scratch_database

    admin = admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and did not answer: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {ADMIN_URL}")
    url, drop = scratch_database("ct_test", admin)
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """A URL to an empty database, once per backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
