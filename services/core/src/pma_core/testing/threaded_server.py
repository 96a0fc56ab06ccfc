"""A loopback HTTP server in a daemon thread, for the fakes of third-party services (OpenAI, Google).

A thread of its own lets synchronous clients (googleapiclient, a test's own code) call the fake without
blocking anything, and the fake outlives any one event loop.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    def __init__(self, app: Any, *, name: str) -> None:
        self._app, self._name = app, name
        self.server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        assert self._socket is not None, "not started"
        port: int = self._socket.getsockname()[1]
        return port

    def start(self) -> None:
        """Bind a free loopback port and serve from a daemon thread; returns once it accepts calls."""
        # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose protocol
        # says TCP, and with it on, each reply on a kept-alive connection waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self._app, log_config=None, log_level="warning", access_log=False,
            lifespan="off", ws="none", http="h11", loop="asyncio",
        )  # fmt: skip
        self.server, self._socket = uvicorn.Server(config), sock
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self._name} server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self.server = self._thread = self._socket = None
