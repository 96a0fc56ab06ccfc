"""Serve an ASGI app on a real loopback port inside the test's event loop.

Tests call services the way services call each other: over HTTP, through the typed clients. The
lifespan runs for real, so a service under test opens its real Postgres, Valkey and Qdrant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from pma_core.embedded.process import free_port


class AppStartupError(RuntimeError):
    """The app's lifespan failed, so the server never started."""


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
    server = uvicorn.Server(config)
    task = asyncio.create_task(_serve(server))
    while not server.started:
        if task.done():
            task.result()  # re-raise a crash
            raise AppStartupError("the app's lifespan failed; see the log above")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
