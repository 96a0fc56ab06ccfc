"""Serve an ASGI app on a real loopback port inside the test's event loop.

Tests call services the way services call each other: over HTTP, through the typed clients. The
lifespan runs for real, so a service under test opens its real Postgres, Valkey and Qdrant.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from pma_core.embedded.process import free_port


class AppStartupError(RuntimeError):
    """The app's lifespan failed, so the server never started."""


class _LoopbackServer(uvicorn.Server):
    """uvicorn's server, stopped at once when `stop()` is called instead of on its next 0.1 s tick: a test
    run starts and stops well over a thousand servers, and those ticks added up to over a minute."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop_requested = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self._stop_requested.set()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            # on_tick refreshes the Date header when the counter is a multiple of 10: so, once a second.
            counter += 10
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), timeout=1.0)


async def _serve(server: uvicorn.Server) -> None:
    # uvicorn ends a failed start-up with sys.exit(3); uncaught, SystemExit would stop the test's event loop.
    try:
        await server.serve()
    except SystemExit as exc:
        raise AppStartupError(f"the app's lifespan failed (exit {exc.code}); see the log above") from exc


@asynccontextmanager
async def serve(app: ASGIApp, *, port: int | None = None) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 until the block exits; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = _LoopbackServer(config)
    task = asyncio.create_task(_serve(server))
    while not server.started:
        if task.done():
            task.result()  # re-raise a crash
            raise AppStartupError("the app's lifespan failed; see the log above")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await task
