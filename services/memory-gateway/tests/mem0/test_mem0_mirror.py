"""The optional mem0 mirror against a loopback fake of mem0's platform API: it helps, and never hurts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from fastapi import FastAPI, Header, HTTPException, Request, Response
from pydantic import SecretStr

from memory_gateway.main import create_app
from memory_gateway.settings import Mem0Settings, Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryCreate
from pma_core.testing.serve import serve

KEY = "m0-test-key"
MIRROR_LOGGER = "memory_gateway.adapters.mem0"

# What a broken mem0 (or a proxy in front of it) can answer instead of its JSON.
Malformed = Literal["not-json", "wrong-shape", "html-5xx"]
MALFORMED: tuple[Malformed, ...] = ("not-json", "wrong-shape", "html-5xx")


def _malformed(kind: Malformed) -> Response:
    if kind == "not-json":
        return Response("<<ok>>", status_code=200, media_type="text/plain")
    if kind == "wrong-shape":
        # Valid JSON, but neither mem0's list of results nor its {"results": [...]} envelope.
        return Response('{"results": "none today", "count": "many"}', status_code=200, media_type="application/json")
    return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502, media_type="text/html")


@dataclass
class FakeMem0:
    """mem0's platform API as seen on the wire: Token auth, /v1/memories/ and /v2/memories/search/.

    `received` has every write's body the moment it arrives; `added` only the writes mem0 answered.
    A write waits for `hold` when it is set (the test releases it), and `malformed` makes both
    endpoints answer garbage instead of mem0's JSON.
    """

    added: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    searched: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    hold: asyncio.Event | None = None
    malformed: Malformed | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        def check(authorization: str | None) -> None:
            if authorization != f"Token {KEY}":
                raise HTTPException(401, "Invalid API key")

        @app.post("/v1/memories/", response_model=None)
        async def add(request: Request, authorization: str | None = Header(default=None)) -> Any:
            check(authorization)
            body = await request.json()
            self.received.append(body)
            if self.hold is not None:
                await self.hold.wait()
            if self.status != 200:
                raise HTTPException(self.status, "mem0 is having a bad day")
            if self.malformed is not None:
                return _malformed(self.malformed)
            self.added.append(body)
            return [{"id": f"m0-{len(self.added)}", "event": "ADD", "data": {"memory": body["messages"][0]["content"]}}]

        @app.post("/v2/memories/search/", response_model=None)
        async def search(request: Request, authorization: str | None = Header(default=None)) -> Any:
            check(authorization)
            if self.status != 200:
                raise HTTPException(self.status, "mem0 is having a bad day")
            body = await request.json()
            self.searched.append(body)
            if self.malformed is not None:
                return _malformed(self.malformed)
            return [{"id": "m0-7", "memory": "Likes oat milk in coffee", "score": 0.83, "user_id": "alice"}]

        return app


@pytest.fixture
async def mem0() -> AsyncIterator[tuple[FakeMem0, str]]:
    fake = FakeMem0()
    async with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def mem0_timeout() -> float:
    """MEM0_TIMEOUT_SECONDS of the gateway under test; a test may parametrise it."""
    return 0.5


@pytest.fixture
async def client(
    gateway_settings: Settings, mem0: tuple[FakeMem0, str], mem0_timeout: float
) -> AsyncIterator[MemoryGatewayClient]:
    _, url = mem0
    settings = gateway_settings.model_copy(
        update={"mem0": Mem0Settings(api_key=SecretStr(KEY), base_url=url, timeout_seconds=mem0_timeout)}
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


# The mirror's own timeout is far beyond the client's 10 s: a remember that waited for mem0 would time out.
@pytest.mark.parametrize("mem0_timeout", [60.0])
async def test_a_slow_mem0_does_not_hold_remember_back(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    fake.hold = asyncio.Event()  # mem0 answers no write until the test lets it
    try:
        result = await client.remember(MemoryCreate(user_id="alice", text="Rides the train on Tuesdays"))
        assert result.outcome == "created"
        # The copy reached mem0, which has not answered it: remember returned while mem0 still had the call.
        await _eventually(lambda: len(fake.received) == 1)
        assert fake.received[0]["metadata"]["pma_memory_id"] == str(result.memory.id)
        assert fake.added == []
    finally:
        fake.hold.set()
    await _eventually(lambda: len(fake.added) == 1)  # and the held call then completes in the background


async def test_a_failing_mem0_does_not_fail_remember(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    fake.status = 500
    result = await client.remember(MemoryCreate(user_id="alice", text="Keeps receipts in a shoebox"))
    assert result.outcome == "created"
    await _eventually(lambda: len(fake.received) == 1)
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


async def test_a_recall_mem0_failed_for_is_not_cached(client: MemoryGatewayClient, mem0: tuple[FakeMem0, str]) -> None:
    fake, _ = mem0
    await client.remember(MemoryCreate(user_id="alice", text="Drinks coffee at 8am"))
    fake.status = 503
    without = await client.recall("alice", "coffee", include_mem0=True)
    fake.status = 200
    again = await client.recall("alice", "coffee", include_mem0=True)
    assert (without.cached, without.external_hits) == (False, [])
    assert not again.cached  # mem0 is asked again, not the answer it failed for served from the cache
    assert (await client.recall("alice", "coffee", include_mem0=True)).cached


@pytest.mark.parametrize("kind", MALFORMED)
async def test_a_malformed_mem0_reply_does_not_fail_remember(
    client: MemoryGatewayClient, mem0: tuple[FakeMem0, str], kind: Malformed, caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = mem0
    fake.malformed = kind
    with caplog.at_level(logging.WARNING, logger=MIRROR_LOGGER):
        result = await client.remember(MemoryCreate(user_id="alice", text="Keeps receipts in a shoebox"))
        assert result.outcome == "created"
        await _eventually(lambda: len(fake.received) == 1)
        assert (await client.get_memory("alice", result.memory.id)).text == "Keeps receipts in a shoebox"
        if kind == "html-5xx":
            await _eventually(lambda: any(r.name == MIRROR_LOGGER for r in caplog.records))
    warnings = [r for r in caplog.records if r.name == MIRROR_LOGGER]
    if kind == "html-5xx":
        # A 5xx is a failed write: logged (with the status) and counted, the memory stays ours.
        assert [r.getMessage() for r in warnings] == ["mem0 mirror write failed"]
        assert "502" in warnings[0].__dict__["error"]
    else:
        # A 200 is taken as accepted: the write's reply body is never read, so there is nothing to report.
        assert warnings == []


@pytest.mark.parametrize("kind", MALFORMED)
async def test_recall_goes_on_without_a_malformed_mem0_reply(
    client: MemoryGatewayClient, mem0: tuple[FakeMem0, str], kind: Malformed, caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = mem0
    await client.remember(MemoryCreate(user_id="alice", text="Drinks coffee at 8am"))
    await _eventually(lambda: fake.added)  # the mirror write is done before mem0 breaks
    fake.malformed = kind
    with caplog.at_level(logging.WARNING, logger=MIRROR_LOGGER):
        result = await client.recall("alice", "coffee", use_cache=False, include_mem0=True)
    assert len(fake.searched) == 1
    assert result.external_hits == []
    assert result.hits[0].memory.text == "Drinks coffee at 8am"
    assert [r.getMessage() for r in caplog.records if r.name == MIRROR_LOGGER] == [
        "mem0 search failed; recall goes on without it"
    ]
