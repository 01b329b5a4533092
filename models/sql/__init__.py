"""The SQL side of the domain's ports (SQLAlchemy 2 Core), on SQLite and PostgreSQL.

- ``engine``: engines (SQLite WAL and write locks, psycopg2 batching) and insert-ignoring helpers;
- ``tables``: the schema; ``migrate`` and ``migrations/``: Alembic, run from code at start;
- ``repository``: ``SqlRepository`` / ``SqlUnitOfWork``, the ports' SQL implementation;
- ``outbox``: what the relay reads and marks, and the leases;
- ``queries``: the read side for the API, the CLI and dashboards.
"""
