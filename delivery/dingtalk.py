"""DingTalk custom robot (自定义机器人): a signed markdown message, the responsible people @-mentioned.

Signed as DingTalk documents 加签: ``timestamp`` is the current time in
milliseconds, ``sign`` the base64 of HMAC-SHA256 over ``timestamp + "\\n" +
secret`` keyed with the secret, URL-encoded; both go in the query string.
The people are mentioned by mobile in ``at.atMobiles`` and as ``@138…`` in the
text (DingTalk needs both). Answers: ``errcode`` 0 is success; 130101 (sending
too fast) waits a minute and tries again; 310000 (signature, keyword or IP
security check failed) is permanent, as is any other error code but -1
(system busy).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Callable
from urllib.parse import quote_plus

from delivery.render import markdown
from delivery.robots import HttpChannel, errcode_judge, post_json
from models.delivery import Message, Outcome
from models.departments import Robot

NAME = "dingtalk"
RATE_LIMITED = 130101
SECURITY_ERROR = 310000
SYSTEM_BUSY = -1


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(webhook: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return webhook
    return f"{webhook}{'&' if '?' in webhook else '?'}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def body_of(message: Message) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": markdown(message)},
            "at": {"atMobiles": list(message.mentions), "isAtAll": False}}


judge = errcode_judge("DingTalk", rate_limited=RATE_LIMITED, busy=SYSTEM_BUSY)


class DingTalkChannel(HttpChannel):
    name = NAME

    def __init__(self, robots: Callable[[str], Robot | None], *, timeout: float = 20.0,
                 time_ms: Callable[[], int] = lambda: int(time.time() * 1000)):
        self.robots = robots
        self.timeout = timeout
        self.time_ms = time_ms  # DingTalk refuses a timestamp more than an hour from its own time: real time

    async def send(self, recipient: str, address: str | None, message: Message) -> Outcome:
        robot = self.robots(recipient.removeprefix("robot:"))
        if robot is None:
            return Outcome.permanent_failure(f"no DingTalk robot configured for {recipient}")
        url = signed_url(robot.webhook, robot.secret, self.time_ms())
        return await post_json(self._session_(), url, body_of(message), self.timeout, judge)
