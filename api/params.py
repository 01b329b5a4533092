"""Query parameters: parsed and checked, or a 400 naming the parameter and what is wrong."""
from __future__ import annotations

from datetime import date
from typing import Sequence

from aiohttp import web

from api.jsonio import ApiError

MAX_LIMIT = 1000


def _raw(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    return None if value is None or value == "" else value


def choice(request: web.Request, name: str, allowed: Sequence[str]) -> str | None:
    value = _raw(request, name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"query parameter {name} must be one of {', '.join(allowed)}; got {value!r}",
                       parameter=name)
    return value


def text(request: web.Request, name: str, max_len: int = 64) -> str | None:
    value = _raw(request, name)
    if value is not None and len(value) > max_len:
        raise ApiError(400, f"query parameter {name} is longer than {max_len} characters", parameter=name)
    return value


def iso_date(request: web.Request, name: str) -> date | None:
    value = _raw(request, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name, value)
    except ValueError:
        return _bad_date(name, value)


def _bad_date(name: str, value: str):
    raise ApiError(400, f"query parameter {name} must be a date like 2026-03-02; got {value!r}", parameter=name)


def integer(request: web.Request, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    value = _raw(request, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"query parameter {name} must be an integer; got {value!r}", parameter=name) from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ApiError(400, f"query parameter {name} must be {bound}; got {number}", parameter=name)
    return number


def path_int(request: web.Request, name: str, minimum: int, maximum: int) -> int:
    value = request.match_info[name]
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer; got {value!r}", parameter=name) from None
    if not minimum <= number <= maximum:
        raise ApiError(400, f"{name} must be between {minimum} and {maximum}; got {number}", parameter=name)
    return number
