"""`GET /v1/users/active`, which the planner-engine and the scheduler-engine both serve."""

from __future__ import annotations

from datetime import datetime

from pma_core.clients.base import ServiceClient
from pma_core.contracts.activity import MAX_ACTIVE_LIMIT, ActiveUsersRead


class ActivityClient(ServiceClient):
    async def active_users(self, since: datetime, until: datetime) -> list[str]:
        """Every user with activity in this service in [since, until), sorted, following the pages to the end.
        The system's own read across users, for its triggers (n8n, the observer); never on a user's behalf."""
        users: list[str] = []
        params: dict[str, str | int] = {
            "since": since.isoformat(), "until": until.isoformat(), "limit": MAX_ACTIVE_LIMIT,
        }  # fmt: skip
        while True:
            page = await self.get_model("/v1/users/active", ActiveUsersRead, params=params)
            users += page.user_ids
            if page.next_after is None:
                return users
            params["after"] = page.next_after
