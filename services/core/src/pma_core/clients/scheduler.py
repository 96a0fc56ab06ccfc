"""scheduler-engine client: the planner's hand-over, runs, profiles, the ICS feed's URL, calendar changes,
blocks and busy time in a window, and active users."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from pma_core.clients.activity import ActivityClient
from pma_core.contracts.scheduling import (
    DEFAULT_BLOCKS_LIMIT,
    BlockListRead,
    BusyRead,
    ChangeListRead,
    ListedBlockStatus,
    ProfileRead,
    RunCreate,
    RunRead,
    ScheduleAccepted,
    ScheduleRequest,
    SchedulingProfile,
)


class SchedulingClient(ActivityClient):
    async def schedule(self, request: ScheduleRequest) -> ScheduleAccepted:
        """Hand over tasks; the request's idempotency key makes the call safe to retry, so it is retried."""
        response = await self.request(
            "POST", "/v1/schedule", json=request.model_dump(mode="json"), idempotency_key=request.idempotency_key
        )
        return ScheduleAccepted.model_validate(response.json())

    async def create_run(self, run: RunCreate, *, idempotency_key: str | None = None) -> ScheduleAccepted:
        """A run on demand (retried only with a key); poll `get_run` for its outcome."""
        response = await self.request(
            "POST", "/v1/runs", json=run.model_dump(mode="json", exclude_none=True), idempotency_key=idempotency_key
        )
        return ScheduleAccepted.model_validate(response.json())

    async def get_run(self, user_id: str, run_id: UUID) -> RunRead:
        return await self.get_model(f"/v1/runs/{run_id}", RunRead, params={"user_id": user_id})

    async def get_profile(self, user_id: str) -> ProfileRead:
        return await self.get_model(f"/v1/profiles/{user_id}", ProfileRead)

    async def put_profile(self, user_id: str, profile: SchedulingProfile) -> ProfileRead:
        """Replaces the profile whole: safe to repeat, so it is retried."""
        response = await self.request("PUT", f"/v1/profiles/{user_id}", json=profile.model_dump(mode="json"))
        return ProfileRead.model_validate(response.json())

    async def feed_url(self, user_id: str) -> str:
        response = await self.request("GET", f"/v1/calendars/{user_id}/feed")
        url: str = response.json()["url"]
        return url

    async def changes(self, user_id: str, *, since: datetime | None = None, limit: int = 100) -> ChangeListRead:
        params: dict[str, str | int] = {"user_id": user_id, "limit": limit}
        if since is not None:
            params["since"] = since.isoformat()
        return await self.get_model("/v1/changes", ChangeListRead, params=params)

    async def list_blocks(
        self,
        user_id: str,
        start: datetime,
        end: datetime,
        *,
        statuses: Sequence[ListedBlockStatus] | None = None,
        limit: int = DEFAULT_BLOCKS_LIMIT,
    ) -> BlockListRead:
        """The user's blocks overlapping [start, end), by start; `statuses` None: planned, done and deleted."""
        params: dict[str, str | int | list[str]] = {
            "user_id": user_id, "from": start.isoformat(), "to": end.isoformat(), "limit": limit,
        }  # fmt: skip
        if statuses is not None:
            params["status"] = list(statuses)
        return await self.get_model("/v1/blocks", BlockListRead, params=params)

    async def busy(self, user_id: str, start: datetime, end: datetime) -> BusyRead:
        """The user's busy time in [start, end) on their own calendars; a Google failure is an answer too
        (`available` false, `error` in words), not an exception."""
        params = {"user_id": user_id, "from": start.isoformat(), "to": end.isoformat()}
        return await self.get_model("/v1/busy", BusyRead, params=params)
