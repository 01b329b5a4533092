"""Which failures of a transaction are the infrastructure's (wait and retry) and which are the data's.

One place decides it, for every caller that applies work to the database (the
ingest's batch applier, the leader's tick):

- **transient**: the database is unreachable or busy, a connection was cut,
  a lock or statement timed out, a serialisation failure or deadlock made the
  database give up the transaction, or a concurrent writer changed an
  obligation first more often than the service retries. The same work
  succeeds later: hold it and retry.
- **deterministic**: everything else (a value the database refuses, a
  constraint, a bug met by one event's data). The same work fails again: find
  the message that causes it and dead-letter it alone.

``describe`` says in one line what a deterministic failure was, for the
reason of a dead letter; ``cause`` in one line what a transient one was, for
``/api/health``.
"""
from __future__ import annotations

import sqlite3

import sqlalchemy.exc as sa_exc

from models.obligations import ConcurrentUpdate

try:  # the PostgreSQL driver is optional for SQLite-only installs
    import psycopg2
    import psycopg2.errors as pg_errors
except ImportError:  # pragma: no cover - psycopg2-binary is a dependency
    psycopg2 = None
    pg_errors = None

# SQLSTATE classes the database uses for "try again": 08 connection, 40 transaction rollback
# (serialisation failure, deadlock), 53 insufficient resources, 57 operator intervention
# (shutdown, statement timeout via 57014), 55P03 lock not available, 58 system errors.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_SQLSTATES = ("55P03",)
# SQLite answers these as OperationalError; others of that class (no such table, syntax) are bugs.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error", "unable to open database",
                     "database or disk is full", "interrupted")


def is_transient(exc: BaseException) -> bool:
    """True when the failure belongs to the infrastructure, not to the data: retry later."""
    for error in _chain(exc):
        if isinstance(error, ConcurrentUpdate):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, (sa_exc.DisconnectionError, sa_exc.TimeoutError, sa_exc.ResourceClosedError)):
            return True
        if isinstance(error, (ConnectionError, TimeoutError)):
            return True
        if isinstance(error, sqlite3.OperationalError):
            return any(text in str(error).lower() for text in _SQLITE_TRANSIENT)
        if psycopg2 is not None and isinstance(error, psycopg2.Error):
            code = getattr(error, "pgcode", None)
            if code is None:  # no answer from the server at all: connection refused, cut, closed
                return isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError))
            return code[:2] in _TRANSIENT_SQLSTATE_CLASSES or code in _TRANSIENT_SQLSTATES
    return False


def is_database_error(exc: BaseException) -> bool:
    """True when the failure came from the database (or its driver), not from something else met on the way."""
    database_errors: tuple = (sa_exc.SQLAlchemyError, sqlite3.Error, ConcurrentUpdate)
    if psycopg2 is not None:
        database_errors += (psycopg2.Error,)
    return any(isinstance(error, database_errors) for error in _chain(exc))


def _chain(exc: BaseException):
    """The exception, what it wraps (SQLAlchemy's ``orig``) and what caused it."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        pending.extend([getattr(error, "orig", None), error.__cause__, error.__context__])


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit] + "…"


def describe(exc: BaseException) -> str:
    """A deterministic failure in one plain line: what refused what (no traceback, no Python repr)."""
    original = getattr(exc, "orig", None) or exc
    message = _first_line(str(original)) or type(original).__name__
    diag = getattr(original, "diag", None)
    column = getattr(diag, "column_name", None) if diag is not None else None
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    where = f" (column {column})" if column else f" (constraint {constraint})" if constraint else ""
    if isinstance(exc, sa_exc.IntegrityError) or isinstance(original, sqlite3.IntegrityError):
        return f"the database refused it as inconsistent with its rules{where}: {message}"
    if isinstance(exc, sa_exc.DataError) or isinstance(original, sqlite3.DataError):
        return f"the database cannot store one of its values{where}: {message}"
    if isinstance(exc, sa_exc.DBAPIError):
        return f"the database refused it{where}: {message}"
    if isinstance(original, UnicodeError):
        return f"it holds text that cannot be encoded for storage: {message}"
    return f"applying it failed ({type(original).__name__}): {message}"


def cause(exc: BaseException) -> str:
    """A transient failure in one line for ``/api/health``: e.g. ``database unreachable: connection refused``."""
    original = getattr(exc, "orig", None) or exc
    message = _first_line(str(original), 200) or type(original).__name__
    if isinstance(exc, ConcurrentUpdate):
        return f"concurrent updates kept conflicting: {message}"
    text = message.lower()
    if "locked" in text or "lock" in text and "timeout" in text:
        return f"database busy (a lock is held): {message}"
    if any(word in text for word in ("serializ", "deadlock")):
        return f"database gave up a transaction: {message}"
    return f"database unreachable: {message}"
