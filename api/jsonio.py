"""JSON for the HTTP API: every time in RFC 3339 with +08:00, errors as ``{"error": ...}``."""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from models.clock import SHANGHAI


class ApiError(web.HTTPException):
    """An error answered as JSON with its status, e.g. 400 for a bad query parameter."""

    def __init__(self, status: int, message: str, **details: Any):
        self.status_code = status
        super().__init__(text=dumps({"error": message, "status": status, **details}),
                         content_type="application/json")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime in an API answer: {value!r}")
        return value.astimezone(SHANGHAI).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json")
