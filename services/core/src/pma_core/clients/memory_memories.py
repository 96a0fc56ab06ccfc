"""memory-gateway client: long-term memory: remember, recall, get, update, forget, history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from pma_core.clients.base import ServiceClient
from pma_core.contracts.memory import (
    MemoryBatchCreate,
    MemoryCreate,
    MemoryHistoryRead,
    MemoryItem,
    MemoryRead,
    MemoryUpdate,
    RecallFilters,
    RecallRead,
    RecallRequest,
    RememberBatchRead,
    RememberRead,
)

_HISTORY = TypeAdapter(list[MemoryHistoryRead])


class MemoriesClient(ServiceClient):
    """The memory-gateway's long-term memory operations."""

    async def remember(self, memory: MemoryCreate) -> RememberRead:
        """Store one memory. With an idempotency key the call is safe to retry, and is retried."""
        response = await self.request(
            "POST", "/v1/remember", json=memory.model_dump(mode="json"), idempotency_key=memory.idempotency_key
        )
        return RememberRead.model_validate(response.json())

    async def remember_batch(self, user_id: str, memories: Sequence[MemoryItem]) -> RememberBatchRead:
        """Store up to 100 memories in one transaction."""
        body = MemoryBatchCreate(user_id=user_id, memories=list(memories))
        response = await self.request("POST", "/v1/remember/batch", json=body.model_dump(mode="json"))
        return RememberBatchRead.model_validate(response.json())

    async def recall(
        self, user_id: str, query: str, *, limit: int = 10, filters: RecallFilters | None = None, **options: Any
    ) -> RecallRead:
        """The user's memories that best answer `query` (retrieval has no side effect, so it is retried)."""
        body = RecallRequest(user_id=user_id, query=query, limit=limit, filters=filters or RecallFilters(), **options)
        response = await self.request("POST", "/v1/recall", json=body.model_dump(mode="json"), idempotency_key="recall")
        return RecallRead.model_validate(response.json())

    async def get_memory(self, user_id: str, memory_id: UUID) -> MemoryRead:
        return await self.get_model(f"/v1/memories/{memory_id}", MemoryRead, params={"user_id": user_id})

    async def update_memory(self, memory_id: UUID, update: MemoryUpdate) -> MemoryRead:
        response = await self.request(
            "PATCH", f"/v1/memories/{memory_id}", json=update.model_dump(mode="json", exclude_unset=True)
        )
        return MemoryRead.model_validate(response.json())

    async def forget(self, user_id: str, memory_id: UUID) -> None:
        await self.request("DELETE", f"/v1/memories/{memory_id}", params={"user_id": user_id})

    async def memory_history(self, user_id: str, memory_id: UUID) -> list[MemoryHistoryRead]:
        response = await self.request("GET", f"/v1/memories/{memory_id}/history", params={"user_id": user_id})
        return _HISTORY.validate_python(response.json())
