"""observer-agent client: trigger daily and weekly reflections, read them, retry their Coda post."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pma_core.clients.base import ServiceClient
from pma_core.contracts.reflections import (
    DailyTrigger,
    ReflectionKind,
    ReflectionListRead,
    ReflectionRead,
    ReflectionRunRead,
    ReflectionUserRequest,
    SimilarReflectionsRead,
    WeeklyTrigger,
)


class ReflectionsClient(ServiceClient):
    async def daily(self, trigger: DailyTrigger) -> ReflectionRunRead:
        """Build (or rebuild) daily reflections: idempotent per user and date, so it is retried."""
        body = trigger.model_dump(mode="json", exclude_none=True)
        key = f"daily:{trigger.user_id or '*'}:{trigger.date or 'yesterday'}"
        response = await self.request("POST", "/v1/reflections/daily", json=body, idempotency_key=key)
        return ReflectionRunRead.model_validate(response.json())

    async def weekly(self, trigger: WeeklyTrigger) -> ReflectionRunRead:
        body = trigger.model_dump(mode="json", exclude_none=True)
        key = f"weekly:{trigger.user_id or '*'}:{trigger.week or 'last'}"
        response = await self.request("POST", "/v1/reflections/weekly", json=body, idempotency_key=key)
        return ReflectionRunRead.model_validate(response.json())

    async def list_reflections(
        self, user_id: str, *, start: date | None = None, end: date | None = None, kind: ReflectionKind | None = None
    ) -> ReflectionListRead:
        params: dict[str, Any] = {"user_id": user_id}
        params |= {k: str(v) for k, v in {"from": start, "to": end, "kind": kind}.items() if v is not None}
        return await self.get_model("/v1/reflections", ReflectionListRead, params=params)

    async def get_reflection(self, user_id: str, reflection_id: UUID) -> ReflectionRead:
        return await self.get_model(f"/v1/reflections/{reflection_id}", ReflectionRead, params={"user_id": user_id})

    async def post_reflection(self, user_id: str, reflection_id: UUID) -> ReflectionRead:
        """Deliver what the reflection still owes (an upsert by key: safe to repeat, so it is retried)."""
        body = ReflectionUserRequest(user_id=user_id).model_dump()
        response = await self.request(
            "POST", f"/v1/reflections/{reflection_id}/post", json=body, idempotency_key=f"post:{reflection_id}"
        )
        return ReflectionRead.model_validate(response.json())

    async def similar_reflections(self, user_id: str, reflection_id: UUID, *, limit: int = 5) -> SimilarReflectionsRead:
        return await self.get_model(
            f"/v1/reflections/{reflection_id}/similar",
            SimilarReflectionsRead,
            params={"user_id": user_id, "limit": limit},
        )
