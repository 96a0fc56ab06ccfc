"""Optional mirror to mem0's platform API (with MEM0_API_KEY): remember also writes there, recall can ask it.

mem0 is a convenience, never a dependency: writes run in the background after our own commit, and every
call is bounded by MEM0_TIMEOUT_SECONDS; a failing or slow mem0 is logged and counted, nothing more.
Wire format of mem0's platform API: `POST /v1/memories/` (messages, user_id, metadata, infer) and
`POST /v2/memories/search/` (query, filters, top_k), with `Authorization: Token <key>`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from memory_gateway.settings import Mem0Settings
from pma_core.contracts.memory import ExternalHit
from pma_core.resources import Background

_log = logging.getLogger(__name__)


def _hits(payload: Any) -> list[ExternalHit]:
    """The hits in mem0's search reply (a list of results, or {"results": [...]}); ValueError for any other shape."""
    results = payload.get("results", []) if isinstance(payload, dict) else payload
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise ValueError(f"not a mem0 search reply: {str(payload)[:200]}")
    # A result whose fields do not fit an ExternalHit raises pydantic's ValidationError, a ValueError too.
    return [
        ExternalHit(source="mem0", id=str(r.get("id")), text=str(r.get("memory", "")), score=r.get("score"))
        for r in results
    ]


class Mem0Mirror:
    """The domain's `Mirror` port on mem0's platform API; its writes run as the lifespan's background work."""

    def __init__(
        self, settings: Mem0Settings, *, background: Background, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        assert settings.api_key is not None, "Mem0Mirror needs MEM0_API_KEY"
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            headers={"Authorization": f"Token {settings.api_key.get_secret_value()}"},
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._background = background
        self.failures = 0

    def mirror(self, user_id: str, text: str, metadata: Mapping[str, Any]) -> None:
        """Send a memory to mem0 in the background; the caller never waits for it."""
        self._background.spawn(self._add(user_id, text, metadata))

    async def _add(self, user_id: str, text: str, metadata: Mapping[str, Any]) -> None:
        body = {"messages": [{"role": "user", "content": text}], "user_id": user_id, "metadata": dict(metadata)}
        try:
            response = await self._http.post("/v1/memories/", json={**body, "infer": False})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.failures += 1
            _log.warning("mem0 mirror write failed", extra={"error": repr(exc)})

    async def search(self, user_id: str, query: str, *, limit: int) -> list[ExternalHit] | None:
        """mem0's hits for the query, or None when mem0 fails, answers garbage or is slower than the timeout."""
        body = {"query": query, "filters": {"AND": [{"user_id": user_id}]}, "top_k": limit}
        try:
            response = await self._http.post("/v2/memories/search/", json=body)
            response.raise_for_status()
            return _hits(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            self.failures += 1
            _log.warning("mem0 search failed; recall goes on without it", extra={"error": repr(exc)})
            return None

    async def aclose(self) -> None:
        """Close the connection; the lifespan drains the background writes first (each bounded by the timeout)."""
        await self._http.aclose()
