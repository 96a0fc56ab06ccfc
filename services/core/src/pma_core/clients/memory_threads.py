"""memory-gateway client: daily threads and similar_days."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pma_core.clients.base import ServiceClient
from pma_core.contracts.daily_threads import (
    DailyThreadListQuery,
    DailyThreadListRead,
    DailyThreadRead,
    DailyThreadUpsert,
    DailyThreadWriteRead,
    SimilarDaysRead,
    SimilarDaysRequest,
    ThreadKind,
)


class DailyThreadsClient(ServiceClient):
    """The memory-gateway's daily-thread operations: the observer's daily and weekly reflections."""

    async def upsert_daily_thread(self, thread: DailyThreadUpsert) -> DailyThreadWriteRead:
        """Store a thread under its key: `outcome` is created, updated or unchanged.

        Idempotent by `key` (a repeat is "unchanged"), so the PUT is retried on transient failures.
        """
        response = await self.request("PUT", "/v1/daily_threads", json=thread.model_dump(mode="json"))
        return DailyThreadWriteRead.model_validate(response.json())

    async def list_daily_threads(
        self,
        user_id: str,
        *,
        start: date | None = None,
        end: date | None = None,
        kind: ThreadKind | None = None,
        limit: int = 100,
    ) -> DailyThreadListRead:
        """The user's threads whose period overlaps [start, end] (both optional), newest period first."""
        query = DailyThreadListQuery.model_validate(
            {"user_id": user_id, "from": start, "to": end, "kind": kind, "limit": limit}
        )
        params = query.model_dump(mode="json", by_alias=True, exclude_none=True)
        return await self.get_model("/v1/daily_threads", DailyThreadListRead, params=params)

    async def get_daily_thread(self, user_id: str, thread_id: UUID) -> DailyThreadRead:
        return await self.get_model(f"/v1/daily_threads/{thread_id}", DailyThreadRead, params={"user_id": user_id})

    async def delete_daily_thread(self, user_id: str, thread_id: UUID) -> None:
        """Delete a thread and its vector (404 if it is not the user's)."""
        await self.request("DELETE", f"/v1/daily_threads/{thread_id}", params={"user_id": user_id})

    async def similar_days(self, request: SimilarDaysRequest) -> SimilarDaysRead:
        """The user's threads most like one of theirs (`key`) or a text, best first, explained.

        Retrieval has no side effect, so the call carries an idempotency key and is retried.
        """
        response = await self.request(
            "POST", "/v1/similar_days", json=request.model_dump(mode="json"), idempotency_key="similar_days"
        )
        return SimilarDaysRead.model_validate(response.json())
