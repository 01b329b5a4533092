"""A scratch PostgreSQL database on the test server: created empty, dropped (with force) when done.

Used by the ``postgres_url`` fixture and by the benchmarks. ``TEST_POSTGRES_URL`` names the server's
administrative connection (default: user postgres on 127.0.0.1:5432, trust auth).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import sqlalchemy as sa

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def admin_engine(admin_url: str = ADMIN_URL) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def scratch_database(prefix: str, admin: sa.Engine | None = None) -> tuple[str, Callable[[], None]]:
    """A new empty database named ``prefix_<random>``: its URL, and the function that drops it."""
    admin = admin if admin is not None else admin_engine()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()

    return admin.url.set(database=name).render_as_string(hide_password=False), drop
