"""A generic signed webhook for other systems: every notification's CloudEvent, POSTed as it was published.

Body: the CloudEvent in structured JSON mode (``application/cloudevents+json``);
``X-Signature``: the lower-case hex HMAC-SHA256 of the body bytes keyed with
``TRACKER_WEBHOOK_SECRET`` (absent without a secret). The receiver checks it
over the bytes it got, before parsing. 2xx is delivered; 408, 429, 5xx and
network errors are tried again; any other answer is permanent.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac

import aiohttp

from delivery.robots import HttpChannel
from models import cloudevents as ce
from models.delivery import Message, Outcome

NAME = "webhook"
SIGNATURE_HEADER = "X-Signature"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel(HttpChannel):
    name = NAME

    def __init__(self, url: str, secret: str | None = None, *, timeout: float = 20.0):
        self.url = url
        self.secret = secret or None
        self.timeout = timeout

    async def send(self, recipient: str, address: str | None, message: Message) -> Outcome:
        if message.cloudevent is None:
            return Outcome.permanent_failure("the notification's CloudEvent is missing")
        body = ce.encode(message.cloudevent)
        headers = {"Content-Type": ce.STRUCTURED_CONTENT_TYPE}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        try:
            async with self._session_().post(self.url, data=body, headers=headers, allow_redirects=False,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                text = (await response.text(errors="replace"))[:200]
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return Outcome.transient(f"HTTP: {type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return Outcome.ok()
        if status >= 500 or status in (408, 429):
            return Outcome.transient(f"webhook HTTP {status}: {text}")
        return Outcome.permanent_failure(f"webhook HTTP {status}: {text}")
