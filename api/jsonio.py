"""JSON for the HTTP API: values as the CloudEvents codec writes them (RFC 3339 +08:00), errors as ``{"error": ...}``."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from models.cloudevents import jsonable


class ApiError(web.HTTPException):
    """An error answered as JSON with its status, e.g. 400 for a bad query parameter."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **details: Any):
        self.status_code = status
        super().__init__(text=dumps({"error": message, "status": status, **details}),
                         content_type="application/json", headers=headers)


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json")
