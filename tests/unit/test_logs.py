"""config.logs: the JSON formatter and the TRACKER_LOG_FORMAT setting."""
from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from config.logs import JsonFormatter, dict_config, faust_worker_options, log_format
from config.settings import Settings, SettingsError


def _record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    logger = logging.getLogger("tests.logs")
    return logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args, exc_info, extra=extra)


def test_a_record_is_one_json_line_with_its_extra_fields():
    line = JsonFormatter().format(_record("dead-lettered %s:\n%s", "t/0/7", "why", event_id="E1", topic="t",
                                          partition=0, offset=7, day=date(2026, 3, 2)))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "tests.logs"
    assert entry["message"] == "dead-lettered t/0/7:\nwhy"
    assert (entry["event_id"], entry["topic"], entry["partition"], entry["offset"]) == ("E1", "t", 0, 7)
    assert entry["day"] == "2026-03-02"  # what JSON cannot hold is written as text
    assert entry["time"].endswith("+08:00") and "args" not in entry and "msg" not in entry


def test_a_traceback_stays_on_the_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        line = JsonFormatter().format(_record("failed", exc_info=sys.exc_info()))
    entry = json.loads(line)
    assert "\n" not in line and entry["exception"].startswith("Traceback") and "RuntimeError: boom" in entry["exception"]


def test_the_setting_picks_the_format_and_a_wrong_value_names_the_variable():
    assert log_format(Settings.from_env({})) == "text"
    assert faust_worker_options(Settings.from_env({}), "info") == {}  # Faust's own lines, as before
    options = faust_worker_options(Settings.from_env({"TRACKER_LOG_FORMAT": "json"}), "info")
    assert options["quiet"] is True
    assert options["logging_config"]["formatters"]["default"]["()"] is JsonFormatter
    assert dict_config("json", "debug")["root"]["level"] == logging.DEBUG
    with pytest.raises(SettingsError, match="TRACKER_LOG_FORMAT='xml' must be one of text, json"):
        log_format(Settings.from_env({"TRACKER_LOG_FORMAT": "xml"}))


def test_the_worker_command_refuses_a_wrong_format_in_one_line(monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("TRACKER_LOG_FORMAT", "yaml")
    assert main(["worker"]) == 2
    assert capsys.readouterr().err.strip() == (
        "catalog-tracker worker: TRACKER_LOG_FORMAT='yaml' must be one of text, json")
