"""docker-compose.yml describes production; no Docker engine runs here, so
these tests read the file and check its wiring against the code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from cli.main import build_parser
from config.settings import ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]
# What an operator puts in .env for production (values docker compose substitutes into the file).
PRODUCTION_ENV = {"TRACKER_ALLOWED_HOSTS": "tracker.yuhua.gov.cn",
                  "TRACKER_API_TOKEN": "compose-api-token-0123456789",
                  "TRACKER_READ_TOKEN": "compose-read-token-0123456789"}


class MissingVariable(Exception):
    pass


def _interpolate(value: str, environ: dict[str, str]) -> str:
    """docker compose's ${NAME}, ${NAME:-default} and ${NAME:?message} (unset or empty is an error)."""
    def substitute(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        given = environ.get(name, "")
        if operator == ":?" and not given:
            raise MissingVariable(f"{name}: {argument}")
        return given or (argument if operator == ":-" else "")

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", substitute, value)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _env(service: dict, environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = PRODUCTION_ENV if environ is None else environ
    return {k: _interpolate(str(v), environ) for k, v in service["environment"].items()}


def test_kafka_runs_in_kraft_mode_without_zookeeper(compose):
    services = compose["services"]
    assert not any("zookeeper" in name for name in services)
    kafka = _env(services["kafka"])
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    voter_id, _, voter_address = kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == kafka["KAFKA_NODE_ID"]
    controller_port = voter_address.rsplit(":", 1)[1]
    assert f"CONTROLLER://:{controller_port}" in kafka["KAFKA_LISTENERS"]
    assert not any(key.startswith("KAFKA_ZOOKEEPER") for key in kafka)


@pytest.mark.parametrize("name", ["worker", "api"])
def test_tracker_services_reach_kafka_and_postgres(compose, name):
    services = compose["services"]
    env = _env(services[name])
    kafka = _env(services["kafka"])
    advertised = dict(
        item.split("://", 1) for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == advertised["PLAINTEXT"].lstrip("/")
    assert env["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0] in services

    postgres = _env(services["postgres"])
    url = make_url(env["DATABASE_URL"])
    assert url.get_backend_name() == "postgresql"
    assert url.host in services and url.host == "postgres"
    assert (url.username, url.password, url.database) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"],
    )
    assert "postgres" in services[name]["depends_on"]


@pytest.mark.parametrize("name", ["worker", "api"])
def test_tracker_environment_is_what_the_settings_read(compose, name):
    env = _env(compose["services"][name])
    known = set(ENV_NAMES.values())
    assert set(env) <= known, f"variables the tracker does not read: {sorted(set(env) - known)}"
    settings = Settings.from_env(env)
    assert settings.kafka_bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert settings.database_url == env["DATABASE_URL"]


@pytest.mark.parametrize("name", ["worker", "api"])
def test_service_commands_are_tracker_commands(compose, name):
    service = compose["services"][name]
    args = build_parser().parse_args(service["command"])
    assert args.command == service["command"][0]
    assert callable(args.func)


def test_worker_depends_on_kafka_and_api_port_is_published(compose):
    services = compose["services"]
    assert "kafka" in services["worker"]["depends_on"]
    api_env = _env(services["api"])
    published = [p.split(":") for p in services["api"]["ports"]]
    assert [api_env["TRACKER_HTTP_PORT"]] == [container for _, container in published]
    assert api_env["TRACKER_HTTP_HOST"] == "0.0.0.0"


def test_image_contains_every_package(compose):
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in ["calendars", "models", "streams", "config", "api", "cli"]:
        assert f"COPY {package} ./{package}" in dockerfile
    assert compose["services"]["worker"]["build"] == "."


def test_the_api_service_needs_its_host_names_and_takes_its_tokens_from_the_environment(compose):
    from config.bootstrap import build_api_security

    with pytest.raises(MissingVariable, match="TRACKER_ALLOWED_HOSTS"):
        _env(compose["services"]["api"], {})  # docker compose refuses to start it without the names
    settings = Settings.from_env(_env(compose["services"]["api"]))
    security = build_api_security(settings)
    assert security.host_allowed("tracker.yuhua.gov.cn:8080") and security.host_allowed("localhost:8080")
    assert not security.host_allowed("rebinding.example:8080")
    assert security.may_write(PRODUCTION_ENV["TRACKER_API_TOKEN"])
    assert security.may_read(PRODUCTION_ENV["TRACKER_READ_TOKEN"]) and not security.may_read(None)
    without_tokens = Settings.from_env(_env(compose["services"]["api"], {"TRACKER_ALLOWED_HOSTS": "tracker"}))
    assert (without_tokens.api_token, without_tokens.read_token) == ("", "")  # writes refused, reads open
    assert "TRACKER_API_TOKEN" not in _env(compose["services"]["worker"])  # the worker's API takes no writes


@pytest.mark.parametrize("name", ["worker", "api"])
def test_tracker_services_are_health_checked_by_the_readiness_probe_on_their_own_port(compose, name):
    """``catalog-tracker probe ready`` (no curl in the image) asks GET /readyz on the port the service serves."""
    from cli.api_client import base_url
    from cli.probe import PATHS
    from config.bootstrap import build_api_security

    service = compose["services"][name]
    check = service["healthcheck"]["test"]
    assert check[0] == "CMD" and check[1] == "catalog-tracker"
    args = build_parser().parse_args(check[2:])
    assert (args.command, args.which, args.url) == ("probe", "ready", None) and PATHS[args.which] == "/readyz"
    assert "--no-api" not in service["command"]  # the process serves the probes
    settings = Settings.from_env(_env(service))
    url = base_url(settings)
    assert url == f"http://127.0.0.1:{settings.http_port}"  # inside the container, whatever it is bound to
    assert build_api_security(settings).host_allowed(url.removeprefix("http://"))  # no 421 for the probe
    timeout = int(service["healthcheck"]["timeout"].rstrip("s"))
    assert timeout > args.timeout >= 1  # the probe gives up before docker does; /readyz answers within a second


def test_the_worker_serves_metrics_inside_the_network_only(compose):
    from config.bootstrap import build_api_security

    worker = compose["services"]["worker"]
    assert "ports" not in worker
    settings = Settings.from_env(_env(worker))
    security = build_api_security(settings)
    assert security.host_allowed(f"worker:{settings.http_port}")  # Prometheus scrapes worker:8081/metrics
    assert not security.host_allowed(f"tracker.yuhua.gov.cn:{settings.http_port}")
    assert security.may_read(PRODUCTION_ENV["TRACKER_READ_TOKEN"]) and not security.may_read(None)
    assert settings.http_port != Settings.from_env(_env(compose["services"]["api"])).http_port
