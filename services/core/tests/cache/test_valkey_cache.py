"""The Valkey cache on a real Valkey, and how it degrades when Valkey is gone."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from pma_core.cache import ValkeyCache
from pma_core.embedded.process import free_port
from pma_core.errors import UnavailableError
from pma_core.settings import ValkeySettings


async def test_values_live_under_the_prefix_and_expire(valkey_settings: ValkeySettings) -> None:
    cache = ValkeyCache.from_settings(valkey_settings, prefix=valkey_settings.key_prefix or "")
    try:
        assert await cache.set("recall:q1", b"hits", ttl_seconds=1)
        assert await cache.get("recall:q1") == b"hits"
        assert await cache.client.get(f"{valkey_settings.key_prefix}recall:q1") == b"hits"
        await asyncio.sleep(1.1)
        assert await cache.get("recall:q1") is None
    finally:
        await cache.close()


async def test_two_prefixes_never_see_each_others_keys(valkey_settings: ValkeySettings) -> None:
    planner = ValkeyCache.from_settings(valkey_settings, prefix="t:planner:")
    memory = ValkeyCache.from_settings(valkey_settings, prefix="t:memory:")
    try:
        await planner.set("k", "planner", ttl_seconds=30)
        assert await memory.get("k") is None
        assert await planner.delete("k") == 1
    finally:
        await planner.close()
        await memory.close()


async def test_down_valkey_skips_caching_and_short_term_memory_is_503() -> None:
    settings = ValkeySettings(url=SecretStr(f"redis://127.0.0.1:{free_port()}/0"), socket_timeout_seconds=0.2)
    cache = ValkeyCache.from_settings(settings, prefix="t:")
    try:
        assert await cache.get("k") is None
        assert await cache.set("k", "v", ttl_seconds=5) is False
        assert await cache.delete("k") == 0
        with pytest.raises(UnavailableError, match="Valkey does not answer") as caught:
            await cache.require()
        assert caught.value.status_code == 503
    finally:
        await cache.close()
