"""Email over SMTP: a MIME message (Chinese subject and body, plain text and HTML), sent with the standard library.

``TRACKER_SMTP_URL``: ``smtp://host:port`` (plain, e.g. a local mail catcher),
``smtp://user:pass@host:587?starttls=true`` or ``smtps://user:pass@host:465``
(TLS from the start). ``smtplib`` runs in a thread. What the server answers
decides the outcome: a 5xx reply (an unknown address, a refused sender, a
failed login) is permanent; a 4xx reply, a refused or dropped connection or a
time-out is transient and tried again later.
"""
from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote, urlsplit

from models import wording
from models.delivery import Message, Outcome
from delivery.render import html_text, plain_text

NAME = "email"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool = False  # smtps: TLS from the start
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "SmtpServer":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"TRACKER_SMTP_URL must look like smtp://host:port or smtps://user:pass@host:465, "
                             f"got scheme {parts.scheme!r}")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        return cls(host=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 25),
                   tls=parts.scheme == "smtps", starttls=starttls,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)


def build_email(message: Message, *, to_address: str, to_name: str | None, mail_from: str) -> EmailMessage:
    """The MIME message: multipart/alternative (text/plain and text/html, UTF-8), with the notification ids."""
    email = EmailMessage()
    email["Subject"] = message.subject
    sender = mail_from.rpartition("@")
    email["From"] = Address(wording.MAIL_FROM_NAME, sender[0], sender[2])
    recipient = to_address.rpartition("@")
    email["To"] = Address(to_name or "", recipient[0], recipient[2])
    email["Date"] = format_datetime(datetime.now(timezone.utc))
    email["Message-ID"] = make_msgid(idstring=message.notices[0].notification_id, domain=sender[2] or None)
    email["X-Catalog-Tracker-Notification"] = ", ".join(n.notification_id for n in message.notices)
    email["X-Catalog-Tracker-Level"] = message.level
    email.set_content(plain_text(message), subtype="plain", charset="utf-8")
    email.add_alternative(html_text(message), subtype="html", charset="utf-8")
    return email


class SmtpChannel:
    name = NAME

    def __init__(self, url: str, mail_from: str, *, timeout: float = 20.0):
        self.server = SmtpServer.from_url(url)
        self.mail_from = mail_from
        self.timeout = timeout

    async def send(self, recipient: str, address: str | None, message: Message) -> Outcome:
        if not address:
            return Outcome.permanent_failure("no email address")
        email = build_email(message, to_address=address, to_name=_name_of(message), mail_from=self.mail_from)
        return await asyncio.to_thread(self._send, email, address)

    def _send(self, email: EmailMessage, address: str) -> Outcome:
        server = self.server
        try:
            if server.tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
            with client:
                if server.starttls:
                    client.starttls(context=ssl.create_default_context())
                if server.username:
                    client.login(server.username, server.password or "")
                refused = client.send_message(email, from_addr=self.mail_from, to_addrs=[address])
            if refused:  # only when some of several recipients were refused; we send to one
                code, text = refused[address]
                return _reply(code, text, address)
            return Outcome.ok()
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(address, (550, b"recipient refused"))
            return _reply(code, text, address)
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as exc:
            return Outcome.transient(f"SMTP {server.host}:{server.port}: {exc}")
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login failed, …
            return _reply(exc.smtp_code, exc.smtp_error, address)
        except smtplib.SMTPException as exc:
            return Outcome.permanent_failure(f"SMTP: {exc}")
        except OSError as exc:  # refused, unreachable, timed out, TLS failure
            return Outcome.transient(f"SMTP {server.host}:{server.port}: {type(exc).__name__}: {exc}")


def _reply(code: int, text: bytes | str, address: str) -> Outcome:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    reason = f"SMTP {code} {words} ({address})"
    if 400 <= code < 500:
        return Outcome.transient(reason)
    return Outcome.permanent_failure(reason)


def _name_of(message: Message) -> str | None:
    greeting = message.greeting.rstrip("：")
    return greeting if greeting and "、" not in greeting and greeting != "各位" else None
