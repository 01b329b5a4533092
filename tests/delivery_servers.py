"""Real servers the delivery tests send to: an SMTP server (aiosmtpd) and an HTTP server playing DingTalk's
custom robot, WeCom's group robot and a generic webhook receiver.

The robot server checks what the real services check, independently of the code under test: DingTalk's
``timestamp``/``sign`` query parameters exactly as DingTalk documents 加签 (HMAC-SHA256 of
``timestamp + "\\n" + secret`` keyed with the secret, base64, URL-encoded; the timestamp within an hour),
answering ``errcode`` 310000 when they do not match; the webhook's ``X-Signature`` over the body bytes. Each
path can be told to answer chosen ``errcode``s (or HTTP statuses) first. Everything received is kept, so a test
counts deliveries by notification id. Servers run in threads of their own, so a test (or a subprocess) talks
to them over real sockets.
"""
from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from aiosmtpd.controller import Controller

from streams.broker import free_port

NOTIFICATION_ID = re.compile(r"\b(?:rm|vi)-[0-9a-f]{32}\b")


# ------------------------------------------------------------------ SMTP

@dataclass
class Mail:
    envelope_to: list[str]
    message: email.message.EmailMessage

    @property
    def notification_ids(self) -> list[str]:
        return [part.strip() for part in str(self.message["X-Catalog-Tracker-Notification"]).split(",")]

    def body(self, subtype: str = "plain") -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()


class _Handler:
    def __init__(self, catcher: "MailCatcher"):
        self.catcher = catcher

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        scripted = self.catcher.answers.get(address)
        if scripted:
            answer = scripted.pop(0)
            if answer is not None:
                return answer
        if address in self.catcher.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.catcher.delay:
            await asyncio.sleep(self.catcher.delay)  # a slow server, so a kill lands while sends are in flight
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.catcher.lock:
            self.catcher.mails.append(Mail(list(envelope.rcpt_tos), message))
        if self.catcher.on_mail:
            self.catcher.on_mail(self.catcher.mails[-1])
        return "250 Message accepted"


class MailCatcher:
    """An SMTP server on a free port; ``refused`` addresses get 550, ``answers[address]`` scripted replies first."""

    def __init__(self, on_mail=None):
        self.port = free_port()
        self.mails: list[Mail] = []
        self.refused: set[str] = set()
        self.answers: dict[str, list[str | None]] = defaultdict(list)
        self.lock = threading.Lock()
        self.on_mail = on_mail
        self.delay = 0.0
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "MailCatcher":
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller._thread is not None:  # idempotent: a test may stop it early (connection refused)
            self.controller.stop()

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.envelope_to]

    def ids_by_address(self) -> dict[tuple[str, str], int]:
        """(notification id, address) -> how many mails carried it."""
        counts: dict[tuple[str, str], int] = defaultdict(int)
        with self.lock:
            for mail in self.mails:
                for address in mail.envelope_to:
                    for notification_id in mail.notification_ids:
                        counts[(notification_id, address)] += 1
        return dict(counts)


# ------------------------------------------------------------------ DingTalk, WeCom, webhook

def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """What DingTalk computes (before URL-encoding): base64(HmacSHA256(secret, timestamp + "\\n" + secret))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class Received:
    path: str
    query: dict
    headers: dict
    body: bytes
    json: dict | None

    @property
    def text(self) -> str:
        """The message text a person reads (DingTalk markdown.text, WeCom markdown.content, or the raw body)."""
        if self.json and "markdown" in self.json:
            return self.json["markdown"].get("text") or self.json["markdown"].get("content") or ""
        return self.body.decode("utf-8", "replace")

    @property
    def notification_ids(self) -> list[str]:
        if self.json and self.json.get("specversion"):
            return [self.json["id"]]
        return sorted(set(NOTIFICATION_ID.findall(self.text)))


@dataclass
class RobotServer:
    """``/dingtalk/<name>`` (signed with ``dingtalk_secrets[name]``), ``/wecom/<name>``, ``/hook`` (webhook)."""

    dingtalk_secrets: dict[str, str] = field(default_factory=dict)
    webhook_secret: str | None = None
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)  # requests answered with an error
    scripted: dict[str, list] = field(default_factory=lambda: defaultdict(list))  # path -> answers to give first
    messages_per_minute: int | None = None  # answer DingTalk 130101 / WeCom 45009 past this rate per path
    delay: float = 0.0
    clock: object = time.monotonic  # seconds; a test whose sender runs on a moved instant moves this one too

    def __post_init__(self):
        self.lock = threading.Lock()
        self._times: dict[str, list[float]] = defaultdict(list)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def dingtalk_url(self, name: str) -> str:
        return self.url(f"/dingtalk/{name}?access_token=test-token-{name}")

    def wecom_url(self, name: str) -> str:
        return self.url(f"/wecom/{name}?key=test-key-{name}")

    def to(self, prefix: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.startswith(prefix)]

    def ids_by_path(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        with self.lock:
            for request in self.received:
                for notification_id in request.notification_ids:
                    counts[(notification_id, request.path)] += 1
        return dict(counts)

    # ------------------------------------------------------------ answering

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow robot, so a kill lands while sends are in flight
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        record = Received(request.path, dict(request.query), dict(request.headers), body, parsed)
        answer = self._answer(request.path, record)
        with self.lock:
            (self.received if answer == (200, {"errcode": 0, "errmsg": "ok"}) else self.refused).append(record)
        status, payload = answer
        return web.json_response(payload, status=status)

    def _answer(self, path: str, record: Received) -> tuple[int, dict]:
        with self.lock:
            queue = self.scripted.get(path)
            if queue:
                answer = queue.pop(0)
                return answer if isinstance(answer, tuple) else (200, {"errcode": answer, "errmsg": "scripted"})
        if path.startswith("/dingtalk/"):
            if record.json is None or record.json.get("msgtype") != "markdown":
                return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown"}
            secret = self.dingtalk_secrets.get(path.removeprefix("/dingtalk/"))
            if secret is not None:
                timestamp, sign = record.query.get("timestamp"), record.query.get("sign")
                if not timestamp or not sign or abs(int(timestamp) - time.time() * 1000) > 3_600_000:
                    return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
                if not hmac.compare_digest(sign, dingtalk_expected_sign(secret, timestamp)):
                    return 200, {"errcode": 310000, "errmsg": "sign not match"}
            if self._too_fast(path):
                return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        elif path.startswith("/wecom/"):
            if record.json is None or record.json.get("msgtype") != "markdown":
                return 200, {"errcode": 40008, "errmsg": "invalid message type"}
            if self._too_fast(path):
                return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        elif path == "/hook":
            if self.webhook_secret is not None:
                expected = hmac.new(self.webhook_secret.encode(), record.body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(record.headers.get("X-Signature", ""), expected):
                    return 401, {"errcode": 401, "errmsg": "bad signature"}
        else:
            return 404, {"errcode": 404, "errmsg": "no such path"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _too_fast(self, path: str) -> bool:
        if self.messages_per_minute is None:
            return False
        now = self.clock()
        with self.lock:
            recent = [t for t in self._times[path] if now - t < 60]
            if len(recent) >= self.messages_per_minute:
                self._times[path] = recent
                return True
            self._times[path] = recent + [now]
        return False

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "RobotServer":
        def serve():
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("POST", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            self._runner = runner
            self._started.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="robot-server", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the robot server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
