"""A small TCP proxy a test can cut: the database (or anything) becomes unreachable on demand.

``TcpProxy(target_host, target_port)`` listens on a free local port and forwards each
connection. ``cut("refuse")`` closes every connection and refuses new ones (a server
that is down); ``cut("stall")`` keeps accepting but forwards nothing, in either
direction (a server or network that hangs). ``restore()`` forwards again.
"""
from __future__ import annotations

import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.host = host
        self.mode = "forward"  # forward | refuse | stall
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket | None]] = []
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, port))
        listener.listen(64)
        listener.settimeout(0.05)
        return listener

    # ------------------------------------------------------------ control

    def cut(self, mode: str = "refuse") -> None:
        if mode not in ("refuse", "stall"):
            raise ValueError(mode)
        with self._lock:
            self.mode = mode
            if mode == "refuse":  # stalled connections stay open, answering nothing
                self._close_pairs()
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None

    def restore(self) -> None:
        with self._lock:
            if self.mode == "stall":
                self._close_pairs()  # the stalled connections stay dead, as after a real outage
            if self._listener is None:
                self._listener = self._listen(self.port)
            self.mode = "forward"

    def close(self) -> None:
        self._stopped = True
        self._thread.join(timeout=5)
        with self._lock:
            self._close_pairs()
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    def _close_pairs(self) -> None:
        for client, upstream in self._pairs:
            for sock in (client, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
        self._pairs = []

    # ------------------------------------------------------------ the loop

    def _serve(self) -> None:
        while not self._stopped:
            with self._lock:
                listener = self._listener
            if listener is None:
                threading.Event().wait(0.05)
                continue
            try:
                client, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                if self.mode == "forward":
                    try:
                        upstream = socket.create_connection(self.target, timeout=5)
                    except OSError:
                        client.close()
                        continue
                    self._pairs.append((client, upstream))
                    threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
                else:  # stall: hold the connection open and answer nothing
                    self._pairs.append((client, None))

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        try:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while not self._stopped:
                if client.fileno() < 0 or upstream.fileno() < 0:  # closed by cut() or restore()
                    return
                if self.mode == "stall":
                    threading.Event().wait(0.05)
                    continue
                for key, _ in selector.select(timeout=0.1):
                    if self.mode != "forward":
                        break
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    try:
                        key.data.sendall(data)
                    except OSError:
                        return
        finally:
            selector.close()
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass
