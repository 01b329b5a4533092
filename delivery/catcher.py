"""A local mail catcher for the quick start (``catalog-tracker up``): an aiosmtpd server that prints a line per mail.

Not for production: it accepts every mail for every address and keeps nothing.
aiosmtpd comes with the test extras (``make install``); without it, ``up`` says
how to point the tracker at a mail catcher of one's own.
"""
from __future__ import annotations

import email
import email.policy
from typing import Callable


class MailCatcher:
    def __init__(self, port: int, printer: Callable[[str], None] = print):
        from aiosmtpd.controller import Controller

        self.port = port
        self.received = 0
        self.printer = printer
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.received += 1
        ids = message.get("X-Catalog-Tracker-Notification", "")
        self.printer(f"mail       → {', '.join(envelope.rcpt_tos)}  {message['Subject']}  ({ids})")
        return "250 Message accepted"

    def start(self) -> "MailCatcher":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def start_mail_catcher(port: int, printer: Callable[[str], None] = print) -> MailCatcher | None:
    """The catcher, started; None when aiosmtpd is not installed."""
    try:
        return MailCatcher(port, printer).start()
    except ImportError:
        return None
