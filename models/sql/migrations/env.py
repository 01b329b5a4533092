"""Alembic environment: runs on the connection handed over by ``models.sql.migrate``.

No alembic.ini: ``models.sql.migrate.upgrade(engine_or_url)`` builds the config in
code and passes an open connection in ``config.attributes["connection"]``.
"""
from __future__ import annotations

from alembic import context

from models.sql.tables import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - offline SQL scripts are not used here
    raise RuntimeError("catalog-tracker migrations run online only (models.sql.migrate.upgrade)")
run_migrations_online()
