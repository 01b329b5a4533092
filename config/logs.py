"""How processes log: human-readable lines (the default) or, with ``TRACKER_LOG_FORMAT=json``, one JSON object a line.

A JSON line has ``time`` (RFC 3339, Asia/Shanghai), ``level``, ``logger`` and
``message``, then whatever the log call passed with ``extra=`` (``event_id``,
``topic``, ``partition``, ``offset`` where there is one), and ``exception``
(the traceback as text) when there is one: one line per record whatever it
holds, for log shippers. Faust configures the root logger itself when its
worker starts; ``faust_worker_options`` hands it the same configuration, so
Faust's, aiokafka's and the tracker's records all come out alike. Python
warnings and uncaught exceptions are routed through logging too.
"""
from __future__ import annotations

import json
import logging
import logging.config
import sys
import threading
from datetime import datetime
from typing import Any

from config.settings import Settings, SettingsError
from models.clock import SHANGHAI

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "[%(asctime)s] [%(levelname)s] %(name)s: %(message)s"
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One record as one JSON object on one line (newlines in messages and tracebacks are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, SHANGHAI).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_") and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_format(settings: Settings) -> str:
    if settings.log_format not in LOG_FORMATS:
        raise SettingsError(f"TRACKER_LOG_FORMAT={settings.log_format!r} must be one of {', '.join(LOG_FORMATS)}")
    return settings.log_format


def dict_config(log_format: str, level: str | int = "INFO", stream: str = "ext://sys.stdout") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` configuration: every record to ``stream`` in ``log_format``."""
    level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    formatter = {"()": JsonFormatter} if log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default",
                                 "stream": stream, "level": level}},
        "root": {"level": level, "handlers": ["default"]},
    }


def configure(settings: Settings, level: str | int = "INFO", stream: str = "ext://sys.stdout") -> None:
    """Set up logging for a process that Faust does not run (``catalog-tracker api``)."""
    chosen = log_format(settings)
    logging.config.dictConfig(dict_config(chosen, level, stream))
    if chosen == "json":
        _route_everything_through_logging()


def configure_before_faust(settings: Settings, level: str | int) -> None:
    """The worker before Faust takes logging over: JSON from the first record (migrations, topic creation),
    warnings and uncaught exceptions included. Text is left as it always was (Faust's coloured lines).
    """
    if log_format(settings) == "json":
        configure(settings, level)


def faust_worker_options(settings: Settings, level: str | int) -> dict[str, Any]:
    """What ``faust.Worker`` needs to log as configured: nothing for text (its own coloured lines), else ours.

    ``quiet`` keeps Faust's start-up banner and spinner, which are not log records, off the output.
    """
    if log_format(settings) != "json":
        return {}
    return {"logging_config": dict_config("json", level), "quiet": True}


def _route_everything_through_logging() -> None:
    logging.captureWarnings(True)

    def log_uncaught(kind, value, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, traceback)
            return
        logging.getLogger("catalog-tracker").critical("uncaught exception", exc_info=(kind, value, traceback))

    sys.excepthook = log_uncaught
    threading.excepthook = lambda args: log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
