"""WeCom group robot (企业微信群机器人): a markdown message, the responsible people named by mobile.

The body is ``{"msgtype": "markdown", "markdown": {"content": …,
"mentioned_mobile_list": […]}}`` and the text ends with ``@138…`` for each.
Answers: ``errcode`` 0 is success; 45009 (API frequency limit: 20 messages a
minute per robot) waits a minute and tries again; -1 (system busy) is
transient; any other code (93000: invalid webhook key, …) is permanent.
"""
from __future__ import annotations

from typing import Callable

from delivery.render import markdown
from delivery.robots import HttpChannel, errcode_judge, post_json
from models.delivery import Message, Outcome
from models.departments import Robot

NAME = "wecom"
RATE_LIMITED = 45009
SYSTEM_BUSY = -1


def body_of(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"content": markdown(message), "mentioned_mobile_list": list(message.mentions)}}


judge = errcode_judge("WeCom", rate_limited=RATE_LIMITED, busy=SYSTEM_BUSY)


class WeComChannel(HttpChannel):
    name = NAME

    def __init__(self, robots: Callable[[str], Robot | None], *, timeout: float = 20.0):
        self.robots = robots
        self.timeout = timeout

    async def send(self, recipient: str, address: str | None, message: Message) -> Outcome:
        robot = self.robots(recipient.removeprefix("robot:"))
        if robot is None:
            return Outcome.permanent_failure(f"no WeCom robot configured for {recipient}")
        return await post_json(self._session_(), robot.webhook, body_of(message), self.timeout, judge)
