"""Runtime settings: environment variables over the defaults in ``config/defaults.toml``.

One frozen object is built at start (``Settings.from_env()``) and handed to
whatever needs it; nothing reads the environment anywhere else.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"

ENV_NAMES = {
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "database_url": "DATABASE_URL",
    "http_host": "TRACKER_HTTP_HOST",
    "http_port": "TRACKER_HTTP_PORT",
    "topic_prefix": "TRACKER_TOPIC_PREFIX",
    "topic_partitions": "TRACKER_TOPIC_PARTITIONS",
    "consumer_group": "TRACKER_CONSUMER_GROUP",
    "reminder_time": "TRACKER_REMINDER_TIME",
    "tick_seconds": "TRACKER_TICK_SECONDS",
    "clock": "TRACKER_CLOCK",
    "jurisdiction": "TRACKER_JURISDICTION",
    "broker_session_timeout": "TRACKER_BROKER_SESSION_TIMEOUT",
    "fetch_max_wait_ms": "TRACKER_FETCH_MAX_WAIT_MS",
    "max_event_bytes": "TRACKER_MAX_EVENT_BYTES",
    "calendar_dir": "TRACKER_CALENDAR_DIR",
    "policy_dir": "TRACKER_POLICY_DIR",
    "departments_file": "TRACKER_DEPARTMENTS_FILE",
    # delivery to people (issue 14)
    "escalation_file": "TRACKER_ESCALATION_FILE",
    "public_url": "TRACKER_PUBLIC_URL",
    "smtp_url": "TRACKER_SMTP_URL",
    "mail_from": "TRACKER_MAIL_FROM",
    "dingtalk_webhook": "TRACKER_DINGTALK_WEBHOOK",
    "dingtalk_secret": "TRACKER_DINGTALK_SECRET",
    "wecom_webhook": "TRACKER_WECOM_WEBHOOK",
    "webhook_url": "TRACKER_WEBHOOK_URL",
    "webhook_secret": "TRACKER_WEBHOOK_SECRET",
    "notify_group": "TRACKER_NOTIFY_GROUP",
    "delivery_timeout": "TRACKER_DELIVERY_TIMEOUT",
    "log_format": "TRACKER_LOG_FORMAT",
    "api_token": "TRACKER_API_TOKEN",
    "read_token": "TRACKER_READ_TOKEN",
    "allowed_hosts": "TRACKER_ALLOWED_HOSTS",
    "ingest_writer": "TRACKER_INGEST_WRITER",
}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap_servers: str
    database_url: str
    http_host: str
    http_port: int
    topic_prefix: str
    topic_partitions: int
    consumer_group: str
    reminder_time: str
    tick_seconds: float
    clock: str
    jurisdiction: str
    broker_session_timeout: float
    fetch_max_wait_ms: int
    max_event_bytes: int
    calendar_dir: str = str(CONFIG_DIR / "calendars")
    policy_dir: str = str(CONFIG_DIR / "policies")
    departments_file: str = str(CONFIG_DIR / "departments.yaml")
    # delivery to people (issue 14); secrets are kept out of repr()
    escalation_file: str = str(CONFIG_DIR / "escalation.yaml")
    public_url: str = ""  # the dashboard's address as people reach it: messages link to the obligation there
    smtp_url: str = field(default="", repr=False)  # smtp://host:port or smtps://user:pass@host:465
    mail_from: str = "catalog-tracker@example.gov.cn"
    dingtalk_webhook: str = field(default="", repr=False)  # the district-wide DingTalk custom robot
    dingtalk_secret: str = field(default="", repr=False)  # its 加签 secret (SEC…)
    wecom_webhook: str = field(default="", repr=False)  # the district-wide WeCom group robot
    webhook_url: str = field(default="", repr=False)  # a generic webhook: every notification's CloudEvent
    webhook_secret: str = field(default="", repr=False)  # X-Signature: HMAC-SHA256 hex of the body
    notify_group: str = ""  # the notifier's consumer group; default: <consumer_group>-notify
    delivery_timeout: float = 20.0  # seconds one send may take
    log_format: str = "text"  # text (for people) | json (one object a line, for log shippers): config/logs.py
    # The HTTP API's credentials (never in a repr or a log line) and the extra names its Host header may carry.
    api_token: str = field(default="", repr=False)
    read_token: str = field(default="", repr=False)
    allowed_hosts: str = ""
    ingest_writer: str = "process"  # process (its own core: streams/writer.py) | thread (in the worker's process)

    def __post_init__(self) -> None:
        _check_token("TRACKER_API_TOKEN", self.api_token)
        _check_token("TRACKER_READ_TOKEN", self.read_token)
        self.allowed_host_entries()
        self.ingest_writer_mode()

    def ingest_writer_mode(self) -> str:
        """Where batches are applied: ``process`` or ``thread`` (``TRACKER_INGEST_WRITER``)."""
        if self.ingest_writer not in INGEST_WRITERS:
            raise SettingsError(f"TRACKER_INGEST_WRITER={self.ingest_writer!r} must be one of "
                                f"{', '.join(INGEST_WRITERS)}")
        return self.ingest_writer

    @property
    def notifier_group(self) -> str:
        return self.notify_group or f"{self.consumer_group}-notify"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Defaults from the TOML file, then the environment, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict = tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
        types = {f.name: f.type for f in fields(cls)}
        for name, env_name in ENV_NAMES.items():
            if env_name in environ and environ[env_name] != "":
                values[name] = _coerce(env_name, environ[env_name], types[name])
        values.update(overrides)
        unknown = set(values) - set(types)
        if unknown:
            raise SettingsError(f"unknown settings in {DEFAULTS_FILE}: {sorted(unknown)}")
        return cls(**values)

    def allowed_host_entries(self) -> tuple[str, ...]:
        """``TRACKER_ALLOWED_HOSTS`` as normalised entries: ``name``, ``name:port``, ``[v6]``, ``[v6]:port``, ``*``."""
        entries = []
        for raw in self.allowed_hosts.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if not HOST_ENTRY.fullmatch(entry):
                hint = " (write an IPv6 address in brackets, e.g. [::1])" if entry.count(":") > 1 else ""
                raise SettingsError(f"TRACKER_ALLOWED_HOSTS: {raw.strip()!r} is not a host name, "
                                    f"host:port or *{hint}")
            entries.append(entry)
        return tuple(entries)

    def topic(self, name: str) -> str:
        """Full topic name with the configured prefix, e.g. ``catalog.dead-letters``."""
        return f"{self.topic_prefix}{name}"


INGEST_WRITERS = ("process", "thread")

# An API token is a bearer token (RFC 6750 b64token characters), long enough not to be guessed.
MIN_TOKEN_LENGTH = 16
TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
HOST_ENTRY = re.compile(r"\*|(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::[0-9]{1,5})?")


def _check_token(env_name: str, token: str) -> None:
    if token and (len(token) < MIN_TOKEN_LENGTH or not TOKEN.fullmatch(token)):
        raise SettingsError(f"{env_name} must be at least {MIN_TOKEN_LENGTH} characters of letters, digits and -._~+/ "
                            "(e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")


def _coerce(env_name: str, raw: str, type_name: str):
    kinds = {"int": (int, "an integer"), "float": (float, "a number")}
    if type_name in kinds:
        convert, described = kinds[type_name]
        try:
            return convert(raw)
        except ValueError:
            raise SettingsError(f"{env_name}={raw!r} is not {described}") from None
    return raw
