"""Request parameters: parsed and checked, or a 400 naming the parameter and what is wrong.

Strict, so that a typo or a hostile value never reaches SQL (where it would be a 500) and never
silently means "no filter": a query parameter the route does not take, one given twice or given
empty is refused; integers are ASCII digits within bounds every database holds; text holds no
control characters. The bounds are those ``api.openapi`` publishes.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Sequence

from aiohttp import web

from api.jsonio import ApiError

MAX_LIMIT = 1000
MAX_OFFSET = 2_147_483_647  # 2^31 - 1: fits every database's integer (an offset beyond 2^63 overflowed SQL)
MAX_TEXT = 64
MAX_ID = 128
YEARS = (2000, 2100)

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def only(request: web.Request, *names: str) -> None:
    """400 for a query parameter the route does not take (a typo must not mean "no filter")."""
    unknown = sorted(set(request.query) - set(names))
    if unknown:
        takes = f"it takes {', '.join(names)}" if names else "it takes none"
        raise ApiError(400, f"unknown query parameter {unknown[0]}; {takes}", parameter=unknown[0])


def _raw(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, f"query parameter {name} is given {len(values)} times; give it once", parameter=name)
    value = values[0]
    if value == "":
        raise ApiError(400, f"query parameter {name} is empty; leave it out or give a value", parameter=name)
    _check_characters(value, f"query parameter {name}", name)
    return value


def _check_characters(value: str, what: str, name: str) -> None:
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise ApiError(400, f"{what} holds the control character U+{ord(bad):04X}", parameter=name)


def choice(request: web.Request, name: str, allowed: Sequence[str]) -> str | None:
    value = _raw(request, name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"query parameter {name} must be one of {', '.join(allowed)}; got {value!r}",
                       parameter=name)
    return value


def text(request: web.Request, name: str, max_len: int = MAX_TEXT) -> str | None:
    value = _raw(request, name)
    if value is not None and len(value) > max_len:
        raise ApiError(400, f"query parameter {name} is longer than {max_len} characters", parameter=name)
    return value


def iso_date(request: web.Request, name: str) -> date | None:
    value = _raw(request, name)
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"query parameter {name} must be a date like 2026-03-02; got {value!r}",
                       parameter=name) from None


def _number(value: str, what: str, name: str, minimum: int, maximum: int) -> int:
    if not _INTEGER.fullmatch(value):
        raise ApiError(400, f"{what} must be an integer between {minimum} and {maximum}; got {value[:40]!r}",
                       parameter=name)
    number = int(value)
    if not minimum <= number <= maximum:
        raise ApiError(400, f"{what} must be between {minimum} and {maximum}; got {number}", parameter=name)
    return number


def integer(request: web.Request, name: str, default: int, minimum: int, maximum: int) -> int:
    value = _raw(request, name)
    return default if value is None else _number(value, f"query parameter {name}", name, minimum, maximum)


PAGE_PARAMETERS = ("limit", "offset")
KEYSET_PAGE_PARAMETERS = (*PAGE_PARAMETERS, "after")  # the lists that give a ``next`` cursor in each page
MAX_CURSOR = 512
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"
_CURSOR = re.compile(CURSOR_PATTERN[1:-1])


def page(request: web.Request) -> dict:
    """``limit`` (1..MAX_LIMIT, default 100) and ``offset`` (0..MAX_OFFSET, default 0) of a list route."""
    return {"limit": integer(request, "limit", 100, minimum=1, maximum=MAX_LIMIT),
            "offset": integer(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)}


def keyset_page(request: web.Request) -> dict:
    """``page`` plus ``after``: the ``next`` of an earlier page (URL-safe base64, at most MAX_CURSOR characters).

    Whether it names a row of this list is for the query to say (``models.sql.paging.BadCursor``)."""
    after = text(request, "after", MAX_CURSOR)
    if after is not None and not _CURSOR.fullmatch(after):
        raise ApiError(400, "query parameter after must be the next value of a page of this list", parameter="after")
    return {**page(request), "after": after}


def path_int(request: web.Request, name: str, minimum: int, maximum: int) -> int:
    return _number(request.match_info[name], name, name, minimum, maximum)


def path_text(request: web.Request, name: str, max_len: int) -> str:
    value = request.match_info[name]
    if len(value) > max_len:
        raise ApiError(400, f"{name} is longer than {max_len} characters", parameter=name)
    _check_characters(value, name, name)
    return value
