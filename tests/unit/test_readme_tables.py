"""The README lists what the tracker has: every CLI sub-command in its command table, every HTTP route in its
HTTP API section (the dashboard's own pages aside)."""
from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from api.app import build_api
from api.context import ApiContext
from cli.main import build_parser
from models.clock import SystemClock

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
DASHBOARD_PAGES = {"/", "/dashboard", "/dashboard/static", "/docs/events"}  # the page, its files and the docs page


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else len(README)]


def served_routes() -> set[tuple[str, str]]:
    app = build_api(ApiContext(engine=sa.create_engine("sqlite://"), registry=None, clock=SystemClock()))
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method != "HEAD" and path not in DASHBOARD_PAGES:
            routes.add((route.method, path))
    return routes


def test_every_route_is_in_the_readme_http_api_section():
    listed = set(re.findall(r"`(GET|POST|PUT|DELETE|PATCH) (/[^`?\s]*)", section("HTTP API")))
    routes = served_routes()
    assert ("GET", "/metrics") in routes and ("GET", "/readyz") in routes  # the check sees the real routes
    assert routes - listed == set(), "routes the README's HTTP API section does not list"
    assert listed - routes == set(), "the README lists routes that are not served"


def test_every_cli_sub_command_is_in_the_readme_command_table():
    table = section("Commands")
    rows = [line for line in table.splitlines() if line.startswith("| `catalog-tracker ")]
    listed = {re.match(r"\| `catalog-tracker ([a-z-]+)", row).group(1) for row in rows}
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)
    assert "probe" in subcommands
    assert subcommands - listed == set(), "sub-commands the README's command table does not list"
    assert listed - subcommands == set(), "the README lists commands that do not exist"
