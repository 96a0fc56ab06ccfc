"""remember embeds each text once: with an API embedder a second call per memory would be paid twice."""

from __future__ import annotations

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryCreate, MemoryItem
from pma_core.testing.fake_openai import FakeOpenAIServer
from pma_core.testing.serve import serve


async def test_remember_sends_each_text_to_the_embedder_once(
    gateway_settings: Settings, fake_openai: FakeOpenAIServer
) -> None:
    settings = gateway_settings.model_copy(
        update={"embedding": fake_openai.embedding_settings(), "llm": fake_openai.llm_settings()}
    )
    async with serve(create_app(settings)) as url:
        client = MemoryGatewayClient(url, timeout=10)
        before = len(fake_openai.embedding_requests)
        await client.remember(MemoryCreate(user_id="alice", text="Ships the newsletter on Fridays"))
        await client.remember_batch("alice", [MemoryItem(text="Gym on Tuesdays"), MemoryItem(text="Tea, no sugar")])
        await client.aclose()
    requests = fake_openai.embedding_requests[before:]
    embedded = [text for request in requests for text in request.body["input"]]
    assert embedded == ["Ships the newsletter on Fridays", "Gym on Tuesdays", "Tea, no sugar"]
