"""`pma reindex`: rebuild the Qdrant collections from Postgres (registered as a `pma.commands` entry point).

With the memory-gateway running, it asks the gateway to do it (the service keeps answering) and shows the
progress. With `--recreate` (after a change of embedder: of vector size, model or hashing version, which
the gateway refuses to start with) or when the gateway is down, it does the work itself; embedded Qdrant
files can only be opened by one process, so stop the gateway first in that case.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Annotated

import httpx
import typer

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.reindex import Reindexer
from memory_gateway.adapters.tables import INDEXED_TABLES
from memory_gateway.settings import Settings
from pma_core.embedders import open_embedder
from pma_core.postgres import open_pool
from pma_core.vectors import VectorStoreError, open_vector_store


def reindex(
    recreate: Annotated[
        bool, typer.Option(help="Drop and recreate each collection first (needed after an embedder change).")
    ] = False,
) -> None:
    """Rebuild the Qdrant collections (agent_memories, doc_chunks, events, daily_threads) from Postgres."""
    settings = Settings()
    if not recreate and _gateway_answers(settings.services.memory_gateway_url):
        _reindex_through_gateway(settings.services.memory_gateway_url, settings.access.operator_token)
        return
    try:
        written = asyncio.run(_reindex_here(settings, recreate=recreate))
    except VectorStoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        typer.echo("if the memory-gateway runs on embedded Qdrant, stop it first (it owns the files)", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"reindexed {written} rows")


def _gateway_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _reindex_through_gateway(url: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=10, headers=headers) as http:
        started = http.post("/v1/admin/reindex", json={})
        if started.status_code not in (202, 409):
            raise typer.Exit(_fail(f"the gateway refused: {started.status_code} {started.text}"))
        typer.echo(f"reindexing through the memory-gateway at {url} (it keeps answering meanwhile)")
        status = started.json()
        while status["state"] == "running":
            typer.echo(f"\r  {status['collection'] or '...'}: {status['done']}/{status['total']}", nl=False)
            time.sleep(0.5)
            status = http.get("/v1/admin/reindex").json()
    typer.echo("")
    if status["state"] != "done":
        raise typer.Exit(_fail(f"reindex {status['state']}: {status['error']}"))
    typer.echo(f"done: {', '.join(status['collections'])}")


def _fail(message: str) -> int:
    typer.echo(f"error: {message}", err=True)
    return 1


async def _reindex_here(settings: Settings, *, recreate: bool) -> int:
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings.postgres)
        stack.push_async_callback(pool.close)
        embedder = await open_embedder(settings.embedding, settings.llm)
        stack.push_async_callback(embedder.close)
        vectors = open_vector_store(settings.qdrant)
        stack.push_async_callback(vectors.close)
        reindexer = Reindexer(pool=pool, indexer=Indexer(pool=pool, vectors=vectors, embedder=embedder))
        return await reindexer.run(INDEXED_TABLES, recreate=recreate, on_progress=_progress_printer())


def _progress_printer() -> Callable[[str, int, int], None]:
    def show(collection: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        typer.echo(f"\r  {collection:<15} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", nl=False)
        if done >= total:
            typer.echo("")

    return show
