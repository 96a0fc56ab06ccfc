"""The typed client (`DailyThreadsClient`, mixed into `MemoryGatewayClient`) against the running gateway:
every operation, the wire names of its parameters, and retries of the calls that are safe to repeat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.clients.memory_threads import DailyThreadsClient
from pma_core.contracts.daily_threads import SimilarDaysRequest

from .conftest import MONDAY, thread


class LosesRequests(httpx.AsyncBaseTransport):
    """The real HTTP transport, but the next `lose` requests are lost before they reach the gateway (a
    dropped connection), as a restarting proxy would lose them."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.lose = 0
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, str(request.url)))
        if self.lose:
            self.lose -= 1
            raise httpx.ConnectError("connection lost (by the test)", request=request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.fixture
async def lossy(gateway_url: str) -> AsyncIterator[tuple[DailyThreadsClient, LosesRequests]]:
    transport = LosesRequests()
    client = DailyThreadsClient(gateway_url, timeout=10, retries=1, transport=transport)
    yield client, transport
    await client.aclose()


async def test_every_operation_survives_a_lost_request(lossy: tuple[DailyThreadsClient, LosesRequests]) -> None:
    client, transport = lossy
    day = thread("2026-11-24|daily", "Wrote the quarterly report, then a run", start=MONDAY + timedelta(days=1))
    transport.lose = 1  # each call loses its first attempt; the retry gets through
    created = await client.upsert_daily_thread(day)
    transport.lose = 1
    again = await client.upsert_daily_thread(day)
    transport.lose = 1
    listed = await client.list_daily_threads("alice", start=MONDAY, end=MONDAY + timedelta(days=6), kind="daily")
    transport.lose = 1
    read = await client.get_daily_thread("alice", created.thread.id)
    transport.lose = 1
    similar = await client.similar_days(SimilarDaysRequest(user_id="alice", text="quarterly report"))
    transport.lose = 1
    await client.delete_daily_thread("alice", created.thread.id)
    with pytest.raises(RemoteServiceError) as caught:
        await client.get_daily_thread("alice", created.thread.id)

    assert (created.outcome, again.outcome) == ("created", "unchanged")  # the PUT's retry stored one thread
    assert [t.id for t in listed.threads] == [created.thread.id]
    assert read == created.thread
    assert [hit.thread.id for hit in similar.hits] == [created.thread.id]
    assert caught.value.status_code == 404
    methods = [method for method, _ in transport.sent]
    assert methods == ["PUT"] * 4 + ["GET"] * 4 + ["POST"] * 2 + ["DELETE"] * 2 + ["GET"]
    list_url = httpx.URL(transport.sent[4][1])
    assert dict(list_url.params) == {
        "user_id": "alice",
        "from": "2026-11-23",
        "to": "2026-11-29",
        "kind": "daily",
        "limit": "100",
    }


async def test_the_memory_gateway_client_has_the_daily_thread_operations(memory: MemoryGatewayClient) -> None:
    assert isinstance(memory, DailyThreadsClient)
    stored = await memory.upsert_daily_thread(thread("k", "A day"))
    assert (await memory.list_daily_threads("alice")).threads == [stored.thread]
