"""The shape the code keeps: the domain imports no adapter library, the calendar imports no domain.

Two checks, so neither a lazy import inside a function nor a dynamic one slips through:
- every ``import`` statement (at any depth, except ``if TYPE_CHECKING:`` blocks), followed through the
  project's own modules, so the failure names the chain that reaches the library;
- one fresh interpreter that imports every domain module and lists ``sys.modules``.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADAPTER_LIBRARIES = ("sqlalchemy", "alembic", "faust", "mode", "kafka", "aiokafka", "aiohttp", "psycopg2", "icalendar",
                     "aiosmtpd", "prometheus_client")
# The only modules that speak Prometheus: the instruments (what is counted) and the /metrics route. The parts they
# count (ingest, relay, tick, delivery runner) go through models.ports.MetricsPort.
PROMETHEUS_MODULES = {"streams.instruments", "api.metrics"}
PROJECT_PACKAGES = ("models", "calendars", "config", "streams", "api", "cli", "delivery")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def domain_modules() -> list[str]:
    """``models/*.py``: the domain; ``models/sql/`` is its SQL adapter and may import what it needs."""
    return sorted(module_name(path) for path in (REPO / "models").glob("*.py"))


def source_of(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str) -> set[str]:
    """Every module an import statement of ``module`` names (run-time imports only), with its parent packages."""
    path = source_of(module)
    if path is None:
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # "from models import events"
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    names = set()
    for name in found:
        parts = name.split(".")
        names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


def chains_to(start: str, forbidden) -> list[list[str]]:
    """Import chains from ``start`` through project modules to a module ``forbidden(name)`` accepts."""
    found: list[list[str]] = []
    seen = {start}
    queue = [[start]]
    while queue:
        chain = queue.pop(0)
        reported = set()
        for name in sorted(imports_of(chain[-1])):  # sorted: "sqlalchemy" before "sqlalchemy.orm"
            if forbidden(name):
                if name.split(".")[0] not in reported:
                    reported.add(name.split(".")[0])
                    found.append(chain + [name])
            elif name.split(".")[0] in PROJECT_PACKAGES and name not in seen and source_of(name) is not None:
                seen.add(name)
                queue.append(chain + [name])
    return found


def is_adapter_library(name: str) -> bool:
    return name.split(".")[0] in ADAPTER_LIBRARIES


@pytest.mark.parametrize("module", domain_modules())
def test_a_domain_module_imports_no_adapter_library(module):
    chains = chains_to(module, is_adapter_library)
    assert not chains, "the domain must not import adapter libraries:\n" + "\n".join(" -> ".join(c) for c in chains)


def test_the_calendar_imports_nothing_of_the_domain():
    modules = sorted(module_name(path) for path in (REPO / "calendars").rglob("*.py"))
    assert "calendars" in modules and "calendars.working_days" in modules
    chains = [chain for module in modules for chain in chains_to(
        module, lambda name: name.split(".")[0] in ("models", "streams", "api", "cli"))]
    assert not chains, "calendars/ must not import the domain or adapters:\n" + "\n".join(" -> ".join(c)
                                                                                          for c in chains)


def test_importing_every_domain_module_loads_no_adapter_library():
    program = ("import importlib, json, sys\n"
               f"for name in {domain_modules()!r}: importlib.import_module(name)\n"
               "print(json.dumps(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "models.service" in loaded  # the check ran on the real modules
    assert not [name for name in loaded if is_adapter_library(name)]


def test_the_import_check_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    """The checker itself: an import inside a function counts; one under TYPE_CHECKING does not."""
    package = tmp_path / "models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "lazy.py").write_text("def f():\n    from . import helper\n")
    (package / "helper.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    import faust\n"
                                       "def g():\n    import sqlalchemy.orm\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert chains_to("models.lazy", is_adapter_library) == [["models.lazy", "models.helper", "sqlalchemy"]]


def test_only_the_instruments_and_the_metrics_route_import_prometheus():
    modules = sorted(module_name(path) for package in PROJECT_PACKAGES for path in (REPO / package).rglob("*.py"))
    direct = {module for module in modules if any(name.split(".")[0] == "prometheus_client"
                                                  for name in imports_of(module))}
    assert direct == PROMETHEUS_MODULES
    runner = chains_to("delivery.runner", lambda name: name.split(".")[0] in ("prometheus_client", "streams", "api"))
    assert not runner, "delivery/ counts through models.ports.MetricsPort:\n" + "\n".join(" -> ".join(c)
                                                                                           for c in runner)
