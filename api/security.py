"""What makes the HTTP API safe to expose: the Host check, the bearer tokens and the headers of every answer.

- ``Host`` must name this server (loopback names, the address it is bound to, ``TRACKER_ALLOWED_HOSTS``):
  a DNS-rebinding page, whose requests carry its own name, gets 421 and reads nothing.
- Writes (any method but GET/HEAD/OPTIONS on a route) need ``Authorization: Bearer <TRACKER_API_TOKEN>``;
  with no token configured they are refused (403) with how to enable them.
- With ``TRACKER_READ_TOKEN`` set, every ``/api/`` read and ``/metrics`` need that token (or the API token). The
  dashboard's files hold no data and stay readable; the page asks for the token and sends it.
  A calendar feed (``….ics``) also takes it as ``?token=``: calendar apps subscribe by URL and send
  no header.
- Every answer carries a Content-Security-Policy of the page's own origin, nosniff, DENY framing,
  no referrer, and a ``Server`` header without versions.

Tokens are compared in constant time (``hmac.compare_digest``).
"""
from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass

import aiohttp.web_response
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from api.context import context_of
from api.jsonio import ApiError

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_BIND_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Under /api/ but holding no data, open like the page's own files: the dashboard's words (its token form needs them).
PUBLIC_API_PATHS = frozenset({"/api/wording"})
# Outside /api/ and holding data: the read rules of /api/ apply (TRACKER_READ_TOKEN when set). The probes
# (/healthz, /readyz) hold none and stay open, like the dashboard's files.
READ_PATHS = frozenset({"/metrics"})
REALM = "catalog-tracker"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
    "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
SERVER_NAME = "catalog-tracker"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Server": SERVER_NAME,
}

# What the answers say; each sentence once.
HOST_MISSING = "the Host header is missing; it must name this server"
WRITES_DISABLED = ("writes are disabled on this tracker: set TRACKER_API_TOKEN (at least 16 characters) in the "
                   "server's environment, then send it as Authorization: Bearer <token> "
                   "(catalog-tracker calendar reload does this with TRACKER_API_TOKEN in its environment)")
WRITE_TOKEN_NEEDED = "this request changes the tracker: send Authorization: Bearer <TRACKER_API_TOKEN>"
READ_TOKEN_NEEDED = "this tracker's API needs a token: send Authorization: Bearer <TRACKER_READ_TOKEN>"
TOKEN_WRONG = "the bearer token is not valid for this tracker"
READ_ONLY_TOKEN = "this token may only read; changes need TRACKER_API_TOKEN"

_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[^\[\]:]+)(?::([0-9]{1,5}))?")
_BEARER = re.compile(r"bearer +(\S+) *", re.IGNORECASE)


def _host_and_port(value: str) -> tuple[str, str | None] | None:
    match = _HOST.fullmatch(value.strip().lower())
    if match is None:
        return None
    return match.group(1).rstrip("."), match.group(2)


@dataclass(frozen=True)
class ApiSecurity:
    """The credentials and host names one API serves with; the default is open reads on loopback, no writes."""

    api_token: str = ""
    read_token: str = ""
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # "name" (any port), "name:port" or "*"

    def __repr__(self) -> str:  # never the tokens
        return (f"ApiSecurity(writes={'on' if self.api_token else 'off'}, "
                f"reads={'token' if self.read_token else 'open'}, allowed_hosts={self.allowed_hosts!r})")

    @classmethod
    def for_server(cls, *, api_token: str = "", read_token: str = "", extra_hosts: tuple[str, ...] = (),
                   bind_host: str = "") -> "ApiSecurity":
        """Loopback names, the address the server is bound to (unless a wildcard) and ``extra_hosts``."""
        hosts = list(LOOPBACK_HOSTS)
        bind = bind_host.strip().lower()
        if bind not in WILDCARD_BIND_HOSTS:
            hosts.append(f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind)
        hosts += [h for h in extra_hosts if h not in hosts]
        return cls(api_token=api_token, read_token=read_token, allowed_hosts=tuple(dict.fromkeys(hosts)))

    def host_allowed(self, host_header: str) -> bool:
        parsed = _host_and_port(host_header)
        if parsed is None:
            return False
        name, port = parsed
        for entry in self.allowed_hosts:
            if entry == "*":
                return True
            entry_name, entry_port = _host_and_port(entry) or (None, None)
            if entry_name == name and (entry_port is None or entry_port == port):
                return True
        return False

    def may_read(self, token: str | None) -> bool:
        if not self.read_token:
            return True
        return token is not None and (_same(token, self.read_token) or self.may_write(token))

    def may_write(self, token: str | None) -> bool:
        return bool(self.api_token) and token is not None and _same(token, self.api_token)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


FEED_SUFFIX = ".ics"
FEED_TOKEN_PARAMETER = "token"


def bearer_token(request: web.Request) -> str | None:
    """The ``Authorization: Bearer`` token; for a calendar feed's GET, else its ``?token=``."""
    match = _BEARER.fullmatch(request.headers.get(hdrs.AUTHORIZATION, ""))
    if match:
        return match.group(1)
    if request.method in ("GET", "HEAD") and request.path.endswith(FEED_SUFFIX):
        return request.query.get(FEED_TOKEN_PARAMETER) or None
    return None


def _unauthorized(message: str, invalid: bool) -> ApiError:
    challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if invalid else "")
    return ApiError(401, message, headers={hdrs.WWW_AUTHENTICATE: challenge})


@web.middleware
async def check_host(request: web.Request, handler):
    """421 unless the Host header names this server (a DNS-rebinding page sends its own name)."""
    host = request.headers.get(hdrs.HOST)
    if not host:
        raise ApiError(400, HOST_MISSING)
    if not context_of(request).security.host_allowed(host):
        raise ApiError(421, f"{host!r} is not a name of this server; if clients reach the tracker by it, "
                            f"add it to TRACKER_ALLOWED_HOSTS")
    return await handler(request)


@web.middleware
async def check_credentials(request: web.Request, handler):
    """Bearer tokens: the API token for writes, the read token (when set) for every /api/ read."""
    security = context_of(request).security
    token = bearer_token(request)
    given = request.headers.get(hdrs.AUTHORIZATION) is not None or token is not None
    routed = request.match_info.http_exception is None
    if request.method in SAFE_METHODS or not routed:
        if ((request.path.startswith("/api/") or request.path in READ_PATHS)
                and request.path not in PUBLIC_API_PATHS and not security.may_read(token)):
            raise _unauthorized(TOKEN_WRONG if given else READ_TOKEN_NEEDED, invalid=given)
    elif not security.api_token:
        raise ApiError(403, WRITES_DISABLED)
    elif not security.may_write(token):
        if token is not None and security.read_token and _same(token, security.read_token):
            raise ApiError(403, READ_ONLY_TOKEN)
        raise _unauthorized(TOKEN_WRONG if given else WRITE_TOKEN_NEEDED, invalid=given)
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every answer, the page, static files and errors alike."""
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/api/"):
        response.headers.setdefault(hdrs.CACHE_CONTROL, "no-store")


def hide_server_version() -> None:
    """No ``Server: Python/3.11 aiohttp/3.x`` even on the answers aiohttp makes itself.

    ``add_security_headers`` names the server on every answer the app makes; a malformed request
    (bad request line, header too long) is answered by aiohttp's protocol handler before any app
    code runs, with the module-wide default. That default is replaced here, once per process.
    """
    aiohttp.web_response.SERVER_SOFTWARE = SERVER_NAME


class ProtocolLog(logging.LoggerAdapter):
    """aiohttp's server log, with a malformed HTTP request (expected on an exposed port) as one line.

    aiohttp logs those with a traceback; anything else (a bug) keeps its traceback.
    """

    def exception(self, msg, *args, exc_info=True, **kwargs) -> None:
        if isinstance(exc_info, HttpProcessingError):
            reason = " ".join(f"{type(exc_info).__name__}: {exc_info.message}".split())[:200]
            self.logger.warning("refused a malformed HTTP request (%s)", reason)
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)


PROTOCOL_LOG = ProtocolLog(logging.getLogger("aiohttp.server"), {})
