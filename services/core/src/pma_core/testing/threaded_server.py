"""A loopback HTTP server in a daemon thread, for the fakes of third-party services (OpenAI, Google, Coda).

A thread of its own lets synchronous clients (googleapiclient, a test's own code) call the fake without
blocking anything, and the fake outlives any one event loop. `LoopbackFake` gives a fake its start/stop and
context managers; `DroppedConnection` lets it hang up without answering, as a network fault looks.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, Self

import uvicorn
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

_TRANSPORT_KEY = "pma.testing.transport"


class DroppedConnection(Response):
    """Closes the connection without answering (the client sees the server hang up)."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(_TRANSPORT_KEY)
        if transport is None:
            raise RuntimeError("the fake cannot reach the connection to drop it")
        transport.close()
        # Let uvicorn see the connection lost, so it does not try to answer 500 on it.
        for _ in range(3):
            await asyncio.sleep(0)


class _ExposeTransport:
    """Outermost ASGI layer: puts uvicorn's connection (transport) in the scope, for `DroppedConnection`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            scope[_TRANSPORT_KEY] = transport
        await self.app(scope, receive, send)


class ThreadedServer:
    def __init__(self, app: Any, *, name: str) -> None:
        self._app, self._name = _ExposeTransport(app), name
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


class LoopbackFake:
    """A fake served by a `ThreadedServer`: `with fake:` / `async with fake:` or `start()` / `stop()`."""

    server_name = "fake"
    _http: ThreadedServer | None = None

    def app(self) -> ASGIApp:
        """The fake's HTTP app, built when it starts."""
        raise NotImplementedError

    def start(self) -> Self:
        """Bind a free loopback port and serve from a daemon thread; returns once it accepts calls."""
        self._http = ThreadedServer(self.app(), name=self.server_name)
        self._http.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
        self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)
