"""The ``catalog-tracker`` command.

Each module in this package that defines ``register(subparsers)`` adds one
sub-command (``calendar``, ``worker``, ``broker``, ``departments`` ...), so a new
command is a new module and nothing here changes. ``register`` sets
``func`` on its parser; ``func(args)`` returns the exit status.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalog-tracker",
        description="政务数据资源目录时限跟踪 — tracks the time limits of government data catalogs.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name == "main":
            continue
        module = importlib.import_module(f"cli.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
