"""The API app served on 127.0.0.1 (a free port) from a thread of its own, for tests and benchmarks in process."""
from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class LoopbackApi:
    def __init__(self, app: web.Application, *, start_timeout: float = 60):
        self.app = app
        self.start_timeout = start_timeout
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def __enter__(self) -> LoopbackApi:
        self.thread.start()
        if not self.ready.wait(self.start_timeout):
            raise RuntimeError("the API did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
