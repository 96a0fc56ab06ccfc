"""Without Valkey, short-term memory answers a clear 503 and long-term memory keeps working."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryCreate
from pma_core.embedded.process import free_port
from pma_core.settings import ValkeySettings
from pma_core.testing.serve import serve

MESSAGE = "short-term memory is unavailable: Valkey does not answer"
TURN = {"user_id": "alice", "role": "user", "content": "hello"}


@pytest.fixture
async def gateway_without_valkey(gateway_settings: Settings) -> AsyncIterator[str]:
    dead = ValkeySettings(url=SecretStr(f"redis://127.0.0.1:{free_port()}/0"), socket_timeout_seconds=0.2)
    async with serve(create_app(gateway_settings.model_copy(update={"valkey": dead}))) as url:
        yield url


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/sessions/s1/turns", TURN),
        ("GET", "/v1/sessions/s1/turns?user_id=alice", None),
        ("GET", "/v1/sessions?user_id=alice", None),
        ("DELETE", "/v1/sessions/s1?user_id=alice", None),
        ("POST", "/v1/sessions/s1/flush?user_id=alice", None),
    ],
)
async def test_session_calls_are_503_with_a_clear_message(
    gateway_without_valkey: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    async with httpx.AsyncClient(base_url=gateway_without_valkey) as http:
        response = await http.request(method, path, json=body)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == {"code": "unavailable", "message": MESSAGE, "details": None}


async def test_long_term_memory_keeps_working(gateway_without_valkey: str) -> None:
    memory = MemoryGatewayClient(gateway_without_valkey, timeout=10.0, retries=0)
    try:
        stored = await memory.remember(MemoryCreate(user_id="alice", text="Prefers tea over coffee"))
        assert stored.outcome == "created"
        hits = (await memory.recall("alice", "tea or coffee")).hits
        assert [h.memory.id for h in hits] == [stored.memory.id]
    finally:
        await memory.aclose()
