"""``catalog-tracker calendar reload [--url URL]``: ask the running tracker to re-read its holiday notices.

The same write as ``POST /api/calendar/reload``, sent with ``TRACKER_API_TOKEN`` from the
environment. Prints what the tracker answered: how many obligations' deadlines moved, which years
became official (a notice arrived) or provisional. A refusal (401/403) or an error is one line on
stderr with the tracker's own reason. Exit status: 0 done, 1 refused or failed, 2 bad --url,
75 nothing answers at the URL (the worker is not running there).
"""
from __future__ import annotations

import argparse
import sys
import urllib.parse

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 75  # EX_TEMPFAIL: try again once the tracker runs
PATH = "/api/calendar/reload"


def add_reload_command(commands: argparse._SubParsersAction) -> None:
    reload = commands.add_parser(
        "reload", help="ask the running tracker to re-read the notices and move the deadlines they change",
        description="POST /api/calendar/reload with TRACKER_API_TOKEN from the environment.")
    reload.add_argument("--url", help="the tracker's address (default: http://127.0.0.1:TRACKER_HTTP_PORT)")
    reload.set_defaults(func=run_reload)


def _fail(message: str, status: int) -> int:
    print(f"catalog-tracker calendar reload: {message}", file=sys.stderr)
    return status


def _years(years: list[int]) -> str:
    return "、".join(str(y) for y in years) if years else "无 none"


def run_reload(args: argparse.Namespace) -> int:
    from cli.api_client import ApiUnreachable, base_url, call, write_headers
    from config.settings import Settings

    settings = Settings.from_env()
    base = (args.url or base_url(settings)).rstrip("/")
    parsed = urllib.parse.urlsplit(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("",):
        return _fail(f"--url {args.url!r} is not an address like http://127.0.0.1:8080", EXIT_USAGE)
    try:
        status, answer = call("POST", base + PATH, write_headers(settings))
    except ApiUnreachable as exc:
        return _fail(f"nothing answers at {base} ({exc}); is the worker running there? (--url names another)",
                     EXIT_UNREACHABLE)
    if status != 200 or not isinstance(answer, dict) or "rescheduled" not in answer:
        reason = answer.get("error") if isinstance(answer, dict) else None
        unset = status in (401, 403) and not settings.api_token
        hint = " (TRACKER_API_TOKEN is not set in this environment)" if unset else ""
        return _fail(f"HTTP {status}: {reason or str(answer)[:200]}{hint}", EXIT_REFUSED)
    print(f"日历已重新载入 calendar reloaded ({base})")
    print(f"期限调整的义务 obligations rescheduled: {answer['rescheduled']}")
    print(f"转为正式安排的年份 years now official: {_years(answer.get('years_now_official', []))}")
    if answer.get("years_now_provisional"):
        print(f"转为暂定的年份 years now provisional: {_years(answer['years_now_provisional'])}")
    return 0
