"""Sessions under test: the raw Valkey the gateway writes to, and a gateway with a small session window."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import valkey.asyncio as valkey_asyncio

from memory_gateway.adapters.sessions import SessionKeys, session_keys
from memory_gateway.main import create_app
from memory_gateway.settings import MemorySettings, Settings
from pma_core.cache import ValkeyCache
from pma_core.clients import MemoryGatewayClient
from pma_core.settings import ValkeySettings
from pma_core.testing.serve import serve

SMALL_WINDOW = 4

KeysOf = Callable[[str, str], SessionKeys]


@pytest.fixture
async def raw_valkey(valkey_settings: ValkeySettings) -> AsyncIterator[valkey_asyncio.Valkey]:
    """A plain client on the gateway's Valkey, to look at (and tamper with) what the gateway stored."""
    client = valkey_asyncio.Valkey.from_url(valkey_settings.url.get_secret_value())
    yield client
    await client.aclose()


@pytest.fixture
def keys_of(raw_valkey: valkey_asyncio.Valkey, gateway_settings: Settings) -> KeysOf:
    """The full Valkey key names of a session, under this test's prefix."""
    cache = ValkeyCache(raw_valkey, prefix=gateway_settings.valkey_prefix)
    return lambda user_id, session_id: session_keys(cache, user_id, session_id)


@pytest.fixture
async def small_memory(gateway_settings: Settings) -> AsyncIterator[MemoryGatewayClient]:
    """A gateway whose sessions hold 4 turns (overflow chunks of 2), so overflow shows after a few turns."""
    memory = MemorySettings(session_max_turns=SMALL_WINDOW, index_repair_interval_seconds=0.2)
    settings = gateway_settings.model_copy(update={"memory": memory})
    async with serve(create_app(settings)) as url:
        client = MemoryGatewayClient(url, timeout=10.0, retries=0)
        yield client
        await client.aclose()
