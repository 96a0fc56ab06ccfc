"""The gateway's Qdrant collections, set up at start, or later when the Qdrant server did not answer then.

Postgres is the source of truth and the domain already serves without Qdrant (remember stores and leaves
the row for the repair loop, recall answers from full-text search and says `lexical_only`). So a Qdrant
server that does not answer at start is an outage to wait out, not a reason to crash-loop: the gateway
starts, `/readyz` names Qdrant as failing, and the set-up is retried until it succeeds. What is never
waited out is a collection of another vector size or embedder (`VectorSizeMismatchError`,
`EmbedderMismatchError`): at start it refuses to start, found later it keeps the gateway unready, saying so.
"""

from __future__ import annotations

import asyncio
import logging

from pma_core.embedders import Embedder
from pma_core.vectors import VectorStore, VectorStoreError, VectorStoreUnreachableError, setup_collections

_log = logging.getLogger(__name__)


def _not_answering(exc: VectorStoreUnreachableError) -> str:
    return f"Qdrant did not answer; the collections are not set up yet: {exc}"


class CollectionSetup:
    def __init__(self, vectors: VectorStore, embedder: Embedder) -> None:
        self._vectors = vectors
        self._embedder = embedder
        # Why the collections are not usable yet; None once they are set up.
        self._problem: str | None = "the collections are not set up yet"

    @property
    def done(self) -> bool:
        return self._problem is None

    async def at_start(self) -> None:
        """Set up now; when Qdrant does not answer, log it and leave the set-up to `until_done`."""
        try:
            await self._run()
        except VectorStoreUnreachableError as exc:
            self._problem = _not_answering(exc)
            _log.warning(
                "Qdrant does not answer: the gateway starts without it (remember stores, recall is lexical "
                "only) and sets up the collections once it answers",
                extra={"error": str(exc)},
            )

    async def until_done(self, *, interval_seconds: float) -> bool:
        """Retry every `interval_seconds` until set up (True) or a mismatch is found (False, logged)."""
        while not self.done:
            await asyncio.sleep(interval_seconds)
            try:
                await self._run()
            except VectorStoreUnreachableError as exc:
                self._problem = _not_answering(exc)
            except VectorStoreError as exc:
                # A mismatch (or a server that refuses the collections): waiting will not fix it.
                self._problem = str(exc)
                _log.error("the collections cannot be used; the gateway stays unready", extra={"error": str(exc)})
                return False
            else:
                _log.info("Qdrant answers again: the collections are set up")
        return True

    async def probe(self) -> str:
        """The readiness check: fail while the collections are not usable, else ping Qdrant."""
        if self._problem is not None:
            raise VectorStoreError(self._problem)
        await self._vectors.ping()
        return "qdrant ok"

    async def _run(self) -> None:
        embedder = self._embedder
        results = await setup_collections(self._vectors, size=embedder.dimension, embedder=embedder.identity)
        self._problem = None
        # Collections made before identities were stamped get the current one, once: a gateway updated in
        # place needs no reindex, an embedder changed later does.
        stamped = [name for name, result in results.items() if result == "stamped"]
        if stamped:
            _log.info(
                "collections without an embedder identity were stamped with the current one",
                extra={"collections": stamped, "embedder": embedder.identity},
            )
