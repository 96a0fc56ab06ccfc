"""memory-gateway client: short-term memory (sessions)."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient
from pma_core.contracts.sessions import (
    DEFAULT_LAST_TURNS,
    AppendRead,
    FlushRead,
    SessionListRead,
    SessionRead,
    TurnCreate,
)


class SessionsClient(ServiceClient):
    """The memory-gateway's short-term memory (sessions) operations."""

    async def append_turn(self, session_id: str, turn: TurnCreate) -> AppendRead:
        """Append one turn. Not retried: a repeated append would store the turn twice."""
        response = await self.request(
            "POST", f"/v1/sessions/{session_id}/turns", json=turn.model_dump(mode="json", exclude_none=True)
        )
        return AppendRead.model_validate(response.json())

    async def read_turns(self, user_id: str, session_id: str, *, last: int = DEFAULT_LAST_TURNS) -> SessionRead:
        """The session's latest `last` turns (oldest first); RemoteServiceError 404 when it does not exist."""
        params = {"user_id": user_id, "last": last}
        return await self.get_model(f"/v1/sessions/{session_id}/turns", SessionRead, params=params)

    async def list_sessions(self, user_id: str) -> list[str]:
        """The ids of the user's live sessions, sorted."""
        listing = await self.get_model("/v1/sessions", SessionListRead, params={"user_id": user_id})
        return listing.session_ids

    async def delete_session(self, user_id: str, session_id: str) -> None:
        """Drop a session without summarising it."""
        await self.request("DELETE", f"/v1/sessions/{session_id}", params={"user_id": user_id})

    async def flush_session(self, user_id: str, session_id: str) -> FlushRead:
        """Summarise the whole session into long-term memory and clear it (the end of a conversation)."""
        response = await self.request("POST", f"/v1/sessions/{session_id}/flush", params={"user_id": user_id})
        return FlushRead.model_validate(response.json())
