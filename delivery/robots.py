"""What DingTalk's and WeCom's robots have in common: which robot a row goes to, the POST, the rate limit answer.

A robot is named in the delivery log by ``district`` (the robot of the
settings) or a department code (its own robot in the registry); the webhook
URLs hold access tokens, so they are looked up here at send time and never
stored. Both robots answer HTTP 200 with ``{"errcode": …, "errmsg": …}``:
success is ``errcode`` 0, whatever the HTTP status says.
"""
from __future__ import annotations

import asyncio
import json
from typing import Callable

import aiohttp

from models.delivery import DISTRICT_ROBOT, Outcome
from models.departments import DepartmentRegistry, Robot

RATE_LIMIT_WAIT = 60.0  # seconds: both robots count messages per minute


def robot_lookup(channel: str, registry: DepartmentRegistry, district: Robot | None) -> Callable[[str], Robot | None]:
    def lookup(name: str) -> Robot | None:
        if name == DISTRICT_ROBOT:
            return district
        department = registry.get(name)
        return department.robot(channel) if department is not None else None

    return lookup


async def post_json(session: aiohttp.ClientSession, url: str, body: dict, timeout: float,
                    judge: Callable[[int, str], Outcome]) -> Outcome:
    """POST the body; HTTP 5xx/429 and network errors are transient, other 4xx permanent, 2xx judged by errcode."""
    try:
        async with session.post(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                headers={"Content-Type": "application/json; charset=utf-8"},
                                timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False) as response:
            text = await response.text(errors="replace")
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return Outcome.transient(f"HTTP: {type(exc).__name__}: {exc}")
    if status >= 500 or status == 429:
        return Outcome.transient(f"HTTP {status}: {text[:200]}")
    if status >= 300:
        return Outcome.permanent_failure(f"HTTP {status}: {text[:200]}")
    return judge(status, text)


def errcode_judge(service: str, *, rate_limited: int, busy: int) -> Callable[[int, str], Outcome]:
    """How a robot's answer is judged: errcode 0 delivered, the rate limit waits a minute, busy is tried again,
    any other code is permanent; an answer without an errcode is transient (a proxy's page, say)."""
    def judge(status: int, text: str) -> Outcome:
        code, words = errcode_of(text)
        if code == 0:
            return Outcome.ok()
        if code is None:
            return Outcome.transient(f"{service} answered HTTP {status} without an errcode: {words}")
        reason = f"{service} errcode {code}: {words}"
        if code == rate_limited:
            return Outcome.transient(reason, retry_after=RATE_LIMIT_WAIT)
        if code == busy:
            return Outcome.transient(reason)
        return Outcome.permanent_failure(reason)

    return judge


class HttpChannel:
    """One aiohttp session per channel, opened on first use and closed with the runner."""

    _session: aiohttp.ClientSession | None = None

    def _session_(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def errcode_of(text: str) -> tuple[int | None, str]:
    try:
        body = json.loads(text)
    except ValueError:
        return None, text[:200]
    if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
        return None, text[:200]
    return body["errcode"], str(body.get("errmsg", ""))


def strip_query_secret(url: str) -> str:
    """A webhook URL for a log line: the access token left out."""
    return url.split("?", 1)[0]
