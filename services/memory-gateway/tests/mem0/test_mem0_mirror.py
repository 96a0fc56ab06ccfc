"""The optional mem0 mirror against a loopback fake of mem0's platform API: it helps, and never hurts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Header, HTTPException, Request
from pydantic import SecretStr

from memory_gateway.main import create_app
from memory_gateway.settings import Mem0Settings, Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryCreate
from pma_core.testing.serve import serve

KEY = "m0-test-key"


@dataclass
class FakeMem0:
    """mem0's platform API as seen on the wire: Token auth, /v1/memories/ and /v2/memories/search/."""

    added: list[dict[str, Any]] = field(default_factory=list)
    searched: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    started: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        def check(authorization: str | None) -> None:
            if authorization != f"Token {KEY}":
                raise HTTPException(401, "Invalid API key")

        @app.post("/v1/memories/")
        async def add(request: Request, authorization: str | None = Header(default=None)) -> list[dict[str, Any]]:
            check(authorization)
            self.started += 1
            await asyncio.sleep(self.delay)
            if self.status != 200:
                raise HTTPException(self.status, "mem0 is having a bad day")
            body = await request.json()
            self.added.append(body)
            return [{"id": f"m0-{len(self.added)}", "event": "ADD", "data": {"memory": body["messages"][0]["content"]}}]

        @app.post("/v2/memories/search/")
        async def search(request: Request, authorization: str | None = Header(default=None)) -> list[dict[str, Any]]:
            check(authorization)
            await asyncio.sleep(self.delay)
            if self.status != 200:
                raise HTTPException(self.status, "mem0 is having a bad day")
            body = await request.json()
            self.searched.append(body)
            return [{"id": "m0-7", "memory": "Likes oat milk in coffee", "score": 0.83, "user_id": "alice"}]

        return app


@pytest.fixture
async def mem0() -> AsyncIterator[tuple[FakeMem0, str]]:
    fake = FakeMem0()
    async with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def client(gateway_settings: Settings, mem0: tuple[FakeMem0, str]) -> AsyncIterator[MemoryGatewayClient]:
    _, url = mem0
    settings = gateway_settings.model_copy(
        update={"mem0": Mem0Settings(api_key=SecretStr(KEY), base_url=url, timeout_seconds=0.5)}
    )
    async with serve(create_app(settings)) as gateway:
        client = MemoryGatewayClient(gateway, timeout=10)
        yield client
        await client.aclose()


async def _eventually(condition: Any) -> None:
    for _ in range(50):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met")


async def test_remember_is_mirrored_with_our_id(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    created = await client.remember(MemoryCreate(user_id="alice", text="Likes oat milk in coffee", kind="preference"))
    await _eventually(lambda: fake.added)
    (body,) = fake.added
    assert body["user_id"] == "alice"
    assert body["messages"] == [{"role": "user", "content": "Likes oat milk in coffee"}]
    assert body["metadata"] == {"pma_memory_id": str(created.memory.id), "kind": "preference"}
    assert body["infer"] is False


async def test_a_slow_mem0_does_not_hold_remember_back(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    fake.delay = 5.0  # far beyond the 0.5 s timeout
    result = await client.remember(MemoryCreate(user_id="alice", text="Rides the train on Tuesdays"))
    assert result.outcome == "created"
    assert fake.added == []  # remember answered while mem0 was still busy with the copy


async def test_a_failing_mem0_does_not_fail_remember(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    fake.status = 500
    result = await client.remember(MemoryCreate(user_id="alice", text="Keeps receipts in a shoebox"))
    assert result.outcome == "created"
    await _eventually(lambda: fake.started == 1)
    assert (await client.get_memory("alice", result.memory.id)).text == "Keeps receipts in a shoebox"


async def test_recall_merges_mem0_hits_when_asked(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    await client.remember(MemoryCreate(user_id="alice", text="Drinks coffee at 8am"))
    without = await client.recall("alice", "coffee", use_cache=False)
    merged = await client.recall("alice", "coffee", use_cache=False, include_mem0=True)
    assert without.external_hits == []
    assert [(h.source, h.text) for h in merged.external_hits] == [("mem0", "Likes oat milk in coffee")]
    assert fake.searched[-1] == {"query": "coffee", "filters": {"AND": [{"user_id": "alice"}]}, "top_k": 10}
    assert merged.hits[0].memory.text == "Drinks coffee at 8am"


async def test_recall_without_mem0_when_it_fails(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    await client.remember(MemoryCreate(user_id="alice", text="Drinks coffee at 8am"))
    fake.status = 503
    result = await client.recall("alice", "coffee", use_cache=False, include_mem0=True)
    assert result.external_hits == []
    assert result.hits[0].memory.text == "Drinks coffee at 8am"
