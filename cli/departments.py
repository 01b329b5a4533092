"""``catalog-tracker departments [--json]``: the department registry (code, name, kind).

Read from the file in ``TRACKER_DEPARTMENTS_FILE`` (default
``config/departments.yaml``, sample data an operator edits). ``--json`` prints
a list of objects with ``code``, ``name``, ``kind`` and ``kind_zh``.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("departments", help="list the department registry",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="a JSON list of {code, name, kind, kind_zh}")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.table import render_table
    from config.settings import Settings
    from models.departments import RegistryError, load_registry
    from models.sql.queries import list_departments

    settings = Settings.from_env()
    try:
        registry = load_registry(settings.departments_file)
    except RegistryError as exc:
        print(f"catalog-tracker departments: {exc}", file=sys.stderr)
        return 1
    departments = list_departments(registry)
    if args.json:
        print(json.dumps(departments, ensure_ascii=False, indent=2))
        return 0
    print(render_table(["代码 code", "名称 name", "类型 kind"],
                       [[d["code"], d["name"], d["kind_zh"]] for d in departments]))
    note = "（示例数据，由运维人员维护 / sample data an operator edits）" if registry.sample_data else ""
    print(f"\n{len(departments)} 个单位 {note} — {settings.departments_file}")
    return 0
