"""What a worker does before it runs: make sure its database and broker answer, and stay stoppable meanwhile.

A worker started while the database or the broker is down says so in one line
and then either waits for them (``catalog-tracker worker --wait-for-dependencies``;
``up`` always waits) or exits with ``EXIT_UNAVAILABLE`` (75, ``EX_TEMPFAIL`` of
sysexits.h: "try again later", what a supervisor restarts on). Never a traceback.

Until the Faust worker takes over the signals, SIGTERM and SIGINT only set a flag
(``Stopping``); the slow steps (probes, migrations, topic creation) run in a daemon
thread the main thread watches, so a stop asked for while the database hangs ends
the process at once, with status 0.
"""
from __future__ import annotations

import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

EXIT_UNAVAILABLE = 75  # EX_TEMPFAIL: the database or the broker does not answer; try again later
PROBE_SECONDS = 3.0  # how long one probe of the database or the broker may take
RETRY_SECONDS = 2.0  # between probes while waiting

T = TypeVar("T")


@dataclass(frozen=True)
class Unavailable:
    """A dependency that does not answer: which, where and why, for one line a person reads."""

    part: str  # "database" or "broker"
    where: str  # the database URL without its password, or the bootstrap servers
    cause: str

    def __str__(self) -> str:
        return f"the {self.part} at {self.where} does not answer ({self.cause})"


class UnavailableError(RuntimeError):
    def __init__(self, problem: Unavailable):
        super().__init__(str(problem))
        self.problem = problem


class Stopping:
    """SIGTERM/SIGINT set ``requested`` while installed (``with Stopping() as stopping:``); nothing else happens."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "Stopping":
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.requested


class Stopped(Exception):
    """A stop was requested before the worker started."""


def run_stoppable(work: Callable[[], T], stopping: Stopping) -> T:
    """``work()`` in a daemon thread; its result, its exception, or ``Stopped`` as soon as a stop is requested."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="catalog-tracker-startup", daemon=True)
    thread.start()
    while thread.is_alive():
        if stopping.requested:
            raise Stopped()
        thread.join(0.05)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# ---------------------------------------------------------------- probes

def short_cause(exc: BaseException) -> str:
    """The first line of an error, without the driver's boilerplate: "connection refused", "timeout expired"."""
    original = getattr(exc, "orig", None) or exc  # sqlalchemy wraps the driver's error
    text = (str(original).strip().splitlines() or [type(original).__name__])[0]
    text = text.split(" failed: ", 1)[-1].strip() or type(original).__name__  # libpq: "connection to … failed: …"
    return text[:1].lower() + text[1:] if " " in text and text[1:2].islower() else text  # a sentence, not a name


def _within(probe: Callable[[], None], seconds: float) -> str | None:
    """None when ``probe()`` returned within ``seconds``; else why not, in a few words."""
    outcome: dict[str, BaseException] = {}

    def target() -> None:
        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - the cause is reported, not raised
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="catalog-tracker-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return f"no answer within {seconds:.0f} s"
    return short_cause(outcome["error"]) if "error" in outcome else None


def database_url_for_people(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read: settings report it elsewhere
        return url


def database_problem(url: str, seconds: float = PROBE_SECONDS) -> Unavailable | None:
    """Connect and ``select 1`` (a fresh connection, bounded by ``seconds``)."""
    import sqlalchemy as sa

    def probe() -> None:
        parsed = sa.engine.make_url(url)
        connect_args = {"connect_timeout": max(1, int(seconds))} if parsed.get_backend_name() == "postgresql" else {}
        engine = sa.create_engine(parsed, connect_args=connect_args, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        finally:
            engine.dispose()

    cause = _within(probe, seconds + 1)
    return None if cause is None else Unavailable("database", database_url_for_people(url), cause)


def broker_problem(bootstrap_servers: str, seconds: float = PROBE_SECONDS) -> Unavailable | None:
    """A TCP connection to one bootstrap server, then a metadata request (both bounded by ``seconds``)."""
    servers = [server.strip() for server in bootstrap_servers.split(",") if server.strip()]
    refused = "no bootstrap server configured"
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            socket.create_connection((host or "localhost", int(port)), timeout=seconds).close()
            break
        except (OSError, ValueError) as exc:
            refused = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    else:
        return Unavailable("broker", bootstrap_servers, refused[:1].lower() + refused[1:])

    def probe() -> None:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=servers, client_id="catalog-tracker-check",
                                 request_timeout_ms=int(seconds * 1000), bootstrap_timeout_ms=int(seconds * 1000))
        try:
            admin.list_topics()
        finally:
            admin.close()

    cause = _within(probe, seconds + 1)
    return None if cause is None else Unavailable("broker", bootstrap_servers,
                                                  f"it accepts connections but answers no Kafka request: {cause}")


def dependency_problem(settings) -> Unavailable | None:
    return database_problem(settings.database_url) or broker_problem(settings.kafka_bootstrap_servers)


def check_dependencies(settings, *, wait: bool, stopping: Stopping, say: Callable[[str], None],
                       retry_seconds: float = RETRY_SECONDS,
                       probe: Callable[[Any], Unavailable | None] = dependency_problem) -> Unavailable | None:
    """None once the database and the broker answer; the problem when one does not and ``wait`` is false.

    While waiting, one line says what is awaited (again only when that changes); ``Stopped`` when a stop
    is requested meanwhile.
    """
    waited_for: Unavailable | None = None
    while True:
        problem = run_stoppable(lambda: probe(settings), stopping)
        if problem is None:
            if waited_for is not None:
                say(f"the {waited_for.part} answers now; starting")
            return None
        if not wait:
            return problem
        if waited_for is None or (problem.part, problem.cause) != (waited_for.part, waited_for.cause):
            say(f"waiting: {problem}; trying again every {retry_seconds:.0f} s (Ctrl-C to stop)")
        waited_for = problem
        if stopping.sleep(retry_seconds):
            raise Stopped()


def is_outage(exc: BaseException) -> bool:
    """The database or the broker does not answer (an error to retry and report in one line, not a bug).

    The database's side is ``models.sql.errors.is_transient`` (the one place that sorts database failures).
    """
    import aiokafka.errors
    import kafka.errors

    from models.sql.errors import is_transient

    return is_transient(exc) or isinstance(exc, (kafka.errors.KafkaError, aiokafka.errors.KafkaError,
                                                 ConnectionError, TimeoutError, socket.timeout))


def is_database_error(exc: BaseException) -> bool:
    """The database stopped answering half-way through the start (migrations), not a mistake in the settings."""
    import sqlalchemy.exc as sa_exc

    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


def start_worker(settings, build: Callable[[], T], *, wait: bool, stopping: Stopping,
                 say: Callable[[str], None], retry_seconds: float = RETRY_SECONDS,
                 probe: Callable[[Any], Unavailable | None] = dependency_problem) -> T:
    """Wait for (or give up on) the database and the broker, build the worker, create its topics.

    Returns the built worker (anything with ``prepare()``); raises ``UnavailableError`` when a dependency does
    not answer and ``wait`` is false, ``Stopped`` when a stop is requested first.
    """
    while True:
        problem = check_dependencies(settings, wait=wait, stopping=stopping, say=say, retry_seconds=retry_seconds,
                                     probe=probe)
        if problem is None:
            try:
                worker = run_stoppable(build, stopping)
            except Exception as exc:
                if not is_database_error(exc):
                    raise
                problem = Unavailable("database", database_url_for_people(settings.database_url), short_cause(exc))
            else:
                try:
                    run_stoppable(worker.prepare, stopping)
                    return worker
                except Stopped:
                    raise
                except Exception as exc:  # noqa: BLE001 - the topics could not be made: the broker's answer
                    problem = Unavailable("broker", settings.kafka_bootstrap_servers, short_cause(exc))
        if not wait:
            raise UnavailableError(problem)
        say(f"waiting: {problem}; trying again every {retry_seconds:.0f} s (Ctrl-C to stop)")
        if stopping.sleep(retry_seconds):
            raise Stopped()
