"""``catalog-tracker calendar reload [--url URL]``: ask the running tracker to re-read its holiday notices.

The same write as ``POST /api/calendar/reload``, sent with ``TRACKER_API_TOKEN`` from the
environment. Prints what the tracker answered: how many open obligations were examined and how many
deadlines moved, which years became official (a notice arrived) or provisional. While a long reschedule
runs it prints its progress on stderr (from ``GET /api/calendar/reschedule``, every few seconds).
A refusal (401/403) or an error is one line on stderr with the tracker's own reason. Exit status: 0 done,
1 refused or failed, 2 bad --url, 75 nothing answers at the URL (the worker is not running there).
"""
from __future__ import annotations

import argparse
import sys
import urllib.parse

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 75  # EX_TEMPFAIL: try again once the tracker runs
PATH = "/api/calendar/reload"
JOB_PATH = "/api/calendar/reschedule"
RELOAD_TIMEOUT = 3600.0  # a reschedule of a province's obligations takes a while; progress shows meanwhile
PROGRESS_SECONDS = 2.0


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
    from cli.api_client import ApiUnreachable, base_url
    from config.settings import Settings

    settings = Settings.from_env()
    base = (args.url or base_url(settings)).rstrip("/")
    parsed = urllib.parse.urlsplit(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("",):
        return _fail(f"--url {args.url!r} is not an address like http://127.0.0.1:8080", EXIT_USAGE)
    try:
        status, answer = _reload_showing_progress(base, settings)
    except ApiUnreachable as exc:
        return _fail(f"nothing answers at {base} ({exc}); is the worker running there? (--url names another)",
                     EXIT_UNREACHABLE)
    if status != 200 or not isinstance(answer, dict) or "rescheduled" not in answer:
        reason = answer.get("error") if isinstance(answer, dict) else None
        unset = status in (401, 403) and not settings.api_token
        hint = " (TRACKER_API_TOKEN is not set in this environment)" if unset else ""
        return _fail(f"HTTP {status}: {reason or str(answer)[:200]}{hint}", EXIT_REFUSED)
    print(f"日历已重新载入 calendar reloaded ({base})")
    if "examined" in answer:
        print(f"检查的未完成义务 open obligations examined: {answer['examined']}")
    print(f"期限调整的义务 obligations rescheduled: {answer['rescheduled']}")
    print(f"转为正式安排的年份 years now official: {_years(answer.get('years_now_official', []))}")
    if answer.get("years_now_provisional"):
        print(f"转为暂定的年份 years now provisional: {_years(answer['years_now_provisional'])}")
    return 0


def _reload_showing_progress(base: str, settings) -> tuple[int, object]:
    """POST the reload; meanwhile poll the reschedule job and print its progress on stderr when it moves on."""
    import threading

    from cli.api_client import ApiUnreachable, call, read_headers, write_headers

    done = threading.Event()
    shown: list = []

    def watch() -> None:
        while not done.wait(PROGRESS_SECONDS):
            try:
                status, body = call("GET", base + JOB_PATH, read_headers(settings), timeout=PROGRESS_SECONDS)
            except ApiUnreachable:
                continue
            job = body.get("job") if status == 200 and isinstance(body, dict) else None
            if not job or job.get("state") != "running":
                continue
            figures = (job["id"], job["examined"], job["candidates"], job["moved"])
            if figures != (shown[-1] if shown else None):
                shown.append(figures)
                print(f"调整中 rescheduling (job {figures[0]}): 已检查 examined {figures[1]} / {figures[2]}, "
                      f"已调整 moved {figures[3]}", file=sys.stderr, flush=True)

    watcher = threading.Thread(target=watch, name="reschedule-progress", daemon=True)
    watcher.start()
    try:
        return call("POST", base + PATH, write_headers(settings), timeout=RELOAD_TIMEOUT)
    finally:
        done.set()
        watcher.join(timeout=PROGRESS_SECONDS + 1)
