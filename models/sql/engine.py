"""Engines and small SQL helpers shared by the repository, the outbox and the queries.

SQLite is set up so several processes can share one file: WAL journal, a busy
timeout, and ``BEGIN IMMEDIATE`` for transactions that write (``write_transaction``)
so they take the write lock when they start, waiting for it, instead of failing
when they upgrade a read lock half-way through. Plain reads use ``BEGIN`` and
never block writers.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10


_JSON = json.JSONEncoder()  # what json.dumps uses with its defaults
_JSON_MEMO: dict[tuple, str] = {}


def json_text(value) -> str:
    """The JSON columns' serializer: ``json.dumps``'s text, flat lists memoised.

    Most JSON values written per event are the same few short lists (reminder stages, citations, no stages
    sent, the outbox headers); encoding each again cost more than a look-up.
    """
    if type(value) is list:
        key = _flat_key(value)
        if key is not None:
            text = _JSON_MEMO.get(key)
            if text is None:
                if len(_JSON_MEMO) >= 1024:
                    _JSON_MEMO.clear()
                text = _JSON_MEMO[key] = _JSON.encode(value)
            return text
    return _JSON.encode(value)


def _flat_key(value: list) -> tuple | None:
    """A key telling apart every list of strings, whole numbers and lists of strings (types included), else None."""
    key = []
    for item in value:
        kind = type(item)
        if kind is str or kind is int:
            key.append((kind, item))
        elif kind is list and all(type(x) is str for x in item):
            key.append((list, tuple(item)))
        else:
            return None
    return tuple(key)


def is_in_memory(url: str) -> bool:
    """An SQLite database that lives in one process only (``sqlite://``, ``sqlite:///:memory:``)."""
    parsed = sa.engine.make_url(url)
    return parsed.get_backend_name() == "sqlite" and (not parsed.database or parsed.database == ":memory:"
                                                       or "mode=memory" in url)


def create_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and immediate transactions."""
    parsed = sa.engine.make_url(url)
    kwargs.setdefault("json_serializer", json_text)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        if parsed.get_driver_name() == "psycopg2":
            # A server that accepts the connection and then says nothing (a stalled network) is an error after
            # this long, not a wait for ever (libpq's connect_timeout, seconds).
            kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S, **kwargs.get("connect_args", {})}
            # UPDATE executemany (outbox marks, obligation state) in pages instead of one
            # round trip per row; INSERTs are batched into multi-row VALUES either way.
            kwargs.setdefault("executemany_mode", "values_plus_batch")
        return sa.create_engine(url, **kwargs)
    database = parsed.database
    if not is_in_memory(url):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                 "check_same_thread": False}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        _use_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Scale (issue 13): the default 2 MB page cache makes every insert into a large index read its pages
        # back from the OS; a larger one keeps the indexes' upper levels and recent leaves in memory.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front (and wait for it: busy timeout); readers such as the
        # HTTP API read a WAL snapshot without blocking writers.
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


WRITE_OPTION = "catalog_tracker_writes"
SQLITE_CACHE_KIB = int(os.environ.get("TRACKER_SQLITE_CACHE_KIB", "262144"))  # per connection, allocated as used


def _use_wal(dbapi_connection) -> None:
    """Put the file in WAL mode (it stays so: later connections find it already set).

    When several processes open a new file at the same moment, SQLite answers
    the switch with "database is locked" at once, without waiting through the
    busy timeout; so it is retried here with a short back-off until the timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        cursor = dbapi_connection.cursor()
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        finally:
            cursor.close()
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from its first statement."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions write (see ``write_transaction``); the caller closes it."""
    conn = engine.connect()
    conn.execution_options(**{WRITE_OPTION: True})
    return conn


def insert_ignoring_duplicates(conn: Connection, table: sa.Table, values: dict) -> bool:
    """Insert one row unless its primary or unique key exists; True when it was inserted.

    This is how duplicates are detected without a failed statement aborting
    the transaction (PostgreSQL would abort it on an IntegrityError). The
    statement carries no values, so SQLAlchemy compiles it once per table and
    reuses it: building ``insert().values(...)`` per row costs more than the
    database work.
    """
    statement = _insert_ignore_statement(conn.dialect.name, table)
    return conn.execute(statement, values).rowcount == 1


@lru_cache(maxsize=64)
def _insert_ignore_statement(dialect_name: str, table: sa.Table):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def insert_many_ignoring_duplicates(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """``executemany`` of rows, each skipped when its key exists (one round trip on PostgreSQL)."""
    insert_rows(conn, table, rows, ignore_duplicates=True)


ROWS_PER_STATEMENT = 500  # rows per multi-row INSERT (PostgreSQL; both backends when keys are returned)
MAX_PARAMETERS = 30_000  # bound values per statement: under SQLite's 32,766 and PostgreSQL's 65,535


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict], *, ignore_duplicates: bool = False) -> None:
    """Insert many rows of the same keys; with ``ignore_duplicates`` a row whose key exists is skipped.

    The values go through each column type's own bind processor (the same conversion SQLAlchemy applies),
    once per column, and then to the driver in one call: an ``executemany`` of one prepared statement on
    SQLite, multi-row ``VALUES`` of ``ROWS_PER_STATEMENT`` rows on PostgreSQL. SQLAlchemy's own executemany
    spent more CPU building each row's parameters than the database spent storing it. Rows it would have to
    complete (a column default left out) or of other shapes go through SQLAlchemy as before.
    """
    if not rows:
        return
    plan = _insert_plan(conn.dialect, table, tuple(rows[0]), ignore_duplicates)
    values = _bound_values(plan, rows) if plan is not None else None
    if values is None:
        conn.execute(_insert_ignore_statement(conn.dialect.name, table) if ignore_duplicates else table.insert(),
                     rows)
        return
    if conn.dialect.name == "sqlite":  # one prepared statement: SQLite runs it per row at no parsing cost
        conn.exec_driver_sql(plan.sql, values)
        return
    for start in range(0, len(values), plan.page_rows):
        page = values[start:start + plan.page_rows]
        conn.exec_driver_sql(plan.multirow_sql(len(page)), tuple(chain.from_iterable(page)))


class _InsertPlan:
    def __init__(self, keys: tuple[str, ...], processors: list, sql: str, multirow_sql, page_rows: int):
        self.keys = keys
        self.processors = processors  # (index, processor) of the columns that convert their values
        self.sql = sql  # one row
        self.multirow_sql = multirow_sql  # count -> the statement of that many rows
        self.page_rows = page_rows  # rows per multi-row statement


def _bound_values(plan: _InsertPlan, rows: list[dict]) -> list[tuple] | None:
    """Each row's bound values as a tuple in ``plan.keys`` order; None when a row has other keys."""
    width = len(plan.keys)
    if any(len(row) != width for row in rows):
        return None
    try:  # column by column: the processors run over whole columns (map), zip makes the rows' tuples
        columns = [[row[key] for row in rows] for key in plan.keys]
    except KeyError:
        return None
    for index, processor in plan.processors:
        columns[index] = list(map(processor, columns[index]))
    return list(zip(*columns))


@lru_cache(maxsize=128)
def _insert_plan(dialect, table: sa.Table, keys: tuple[str, ...], ignore_duplicates: bool) -> _InsertPlan | None:
    placeholder = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if placeholder is None or dialect.name not in ("sqlite", "postgresql"):
        return None
    if any(key not in table.c for key in keys):
        return None
    if any(column.default is not None for column in table.columns if column.key not in keys):
        return None  # SQLAlchemy fills that default in
    columns = [table.c[key] for key in keys]
    processors = [(i, processor) for i, column in enumerate(columns)
                  if (processor := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    quote = dialect.identifier_preparer
    head = (f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.format_column(c) for c in columns)}) "
            f"VALUES ")
    tail = " ON CONFLICT DO NOTHING" if ignore_duplicates else ""
    one_row = f"({', '.join([placeholder] * len(columns))})"

    @lru_cache(maxsize=8)
    def multirow_sql(count: int) -> str:
        return head + ", ".join([one_row] * count) + tail

    page_rows = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMETERS // len(columns)))
    return _InsertPlan(keys, processors, head + one_row + tail, multirow_sql, page_rows)


def insert_returning_new_keys(conn: Connection, table: sa.Table, rows: list[dict]) -> set[tuple]:
    """Insert rows (multi-row VALUES), skipping existing keys; the primary keys that were inserted.

    Text keys go the way of ``insert_rows`` (values bound once per column, one statement per page, ``RETURNING``
    the keys); other tables through SQLAlchemy's executemany.
    """
    if not rows:
        return set()
    plan = _insert_plan(conn.dialect, table, tuple(rows[0]), True)
    key_columns = list(table.primary_key.columns)
    values = (_bound_values(plan, rows)
              if plan is not None and all(isinstance(c.type, sa.String) for c in key_columns) else None)
    if values is None:
        statement = _insert_ignore_returning_keys(conn.dialect.name, table)
        return {tuple(row) for row in conn.execute(statement, rows)}
    returning = " RETURNING " + ", ".join(conn.dialect.identifier_preparer.format_column(c) for c in key_columns)
    new: set[tuple] = set()
    page_rows = plan.page_rows
    for start in range(0, len(values), page_rows):
        page = values[start:start + page_rows]
        new |= {tuple(row) for row in conn.exec_driver_sql(plan.multirow_sql(len(page)) + returning,
                                                           tuple(chain.from_iterable(page)))}
    return new


@lru_cache(maxsize=64)
def _insert_ignore_returning_keys(dialect_name: str, table: sa.Table):
    return _insert_ignore_statement(dialect_name, table).returning(*table.primary_key.columns)


def ping(engine: Engine) -> None:
    """One round trip to the database (a read: never waits for SQLite's write lock); raises when it fails."""
    with engine.connect() as conn:
        conn.exec_driver_sql("select 1").scalar()


def advisory_key(namespace: str, name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock`` naming ``name`` in ``namespace``."""
    digest = hashlib.sha256(f"catalog-tracker:{namespace}:{name}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_LOCK_KEYS = sa.text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k")


def lock_for_transaction(conn: Connection, namespace: str, names) -> None:
    """PostgreSQL: take a transaction-scoped advisory lock per name, in one fixed (sorted) order so that two
    transactions locking overlapping sets never deadlock; released at commit or rollback. Other backends:
    nothing (SQLite's writers already hold the one write lock from ``BEGIN IMMEDIATE``)."""
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({advisory_key(namespace, name) for name in names})
    if keys:
        conn.execute(_LOCK_KEYS, {"keys": keys})
