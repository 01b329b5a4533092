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


def configuration_errors() -> tuple[type[Exception], ...]:
    """Errors in settings or in the files under config/ (policy, registry, calendar notices).

    Their messages already name the variable, or the file, the line and the
    problem, so the command prints that one line instead of a traceback.
    Imported only when something failed, to keep start-up lean.
    """
    from calendars.errors import CalendarError
    from config.settings import SettingsError
    from models.yamlnodes import ConfigFileError

    return (SettingsError, ConfigFileError, CalendarError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        if isinstance(exc, configuration_errors()):
            print(f"catalog-tracker {args.command}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
