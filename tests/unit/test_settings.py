from __future__ import annotations

import pytest

from config.settings import ENV_NAMES, Settings, SettingsError


def test_defaults_come_from_the_config_file():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.topic_prefix == ""
    assert settings.topic("catalog.dead-letters") == "catalog.dead-letters"


def test_environment_overrides_defaults_with_types():
    settings = Settings.from_env({
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "DATABASE_URL": "postgresql+psycopg2://u@h/db",
        "TRACKER_HTTP_PORT": "9999",
        "TRACKER_TOPIC_PREFIX": "dev.",
        "TRACKER_TICK_SECONDS": "0.5",
    })
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.database_url == "postgresql+psycopg2://u@h/db"
    assert settings.http_port == 9999
    assert settings.tick_seconds == 0.5
    assert settings.topic("catalog.obligations") == "dev.catalog.obligations"


def test_a_bad_number_names_the_variable():
    with pytest.raises(SettingsError, match="TRACKER_HTTP_PORT"):
        Settings.from_env({"TRACKER_HTTP_PORT": "eighty"})


def test_every_documented_variable_maps_to_a_setting():
    names = {field for field in Settings.__dataclass_fields__}
    assert set(ENV_NAMES) <= names
    for required in ["KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "TRACKER_HTTP_PORT", "TRACKER_TOPIC_PREFIX"]:
        assert required in ENV_NAMES.values()
