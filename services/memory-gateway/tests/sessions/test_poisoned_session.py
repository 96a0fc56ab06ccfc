"""A session holding a NUL turn (stored before the edge refused them) still flushes to long-term memory."""

from __future__ import annotations

import httpx

from memory_gateway.adapters.sessions import SessionStore
from memory_gateway.domain.models import NewTurn
from memory_gateway.settings import Settings
from pma_core.cache import ValkeyCache


async def test_a_session_with_a_nul_turn_flushes_the_rest(gateway_url: str, gateway_settings: Settings) -> None:
    cache = ValkeyCache.from_settings(gateway_settings.valkey, prefix=gateway_settings.valkey_prefix)
    try:
        store = SessionStore(cache)
        for content in ("We ship on Fridays.", "bad\x00turn", "Pricing page first."):
            await store.append("alice", "old", NewTurn(role="user", content=content), ttl_seconds=None,
                               default_ttl_seconds=3600)  # fmt: skip
    finally:
        await cache.close()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10.0) as http:
        flushed = await http.post("/v1/sessions/old/flush", params={"user_id": "alice"})
        assert flushed.status_code == 200, flushed.text
        assert (flushed.json()["turns_flushed"], flushed.json()["session_cleared"]) == (3, True)
        memory_id = flushed.json()["moved_to_long_term"][0]["memory_id"]
        summary = (await http.get(f"/v1/memories/{memory_id}", params={"user_id": "alice"})).json()["text"]
    assert "badturn" in summary
    assert "Pricing page first." in summary
