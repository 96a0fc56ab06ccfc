"""scheduler-engine client: the intake of a plan's tasks to be placed on the calendar."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient
from pma_core.contracts.scheduling import ScheduleAccepted, ScheduleRequest


class SchedulingClient(ServiceClient):
    async def schedule(self, request: ScheduleRequest) -> ScheduleAccepted:
        """Hand over tasks; the request's idempotency key makes the call safe to retry, so it is retried."""
        response = await self.request(
            "POST", "/v1/schedule", json=request.model_dump(mode="json"), idempotency_key=request.idempotency_key
        )
        return ScheduleAccepted.model_validate(response.json())
