"""Valkey for caches and short-term state: prefixed keys, short timeouts, and graceful degradation.

Nothing that must persist lives only here. When Valkey is down, cache reads miss and cache writes
are skipped (logged once per outage), so a service keeps answering from Postgres; callers that cannot
work without Valkey (short-term memory) use `require()` and answer 503.
"""

from __future__ import annotations

import logging

import valkey.asyncio as valkey_asyncio
from valkey.exceptions import ConnectionError as ValkeyConnectionError
from valkey.exceptions import TimeoutError as ValkeyTimeoutError

from pma_core.errors import UnavailableError
from pma_core.settings import ValkeySettings

_log = logging.getLogger(__name__)
_DOWN_ERRORS = (ValkeyConnectionError, ValkeyTimeoutError, OSError)


class ValkeyCache:
    """A Valkey client bound to one key prefix."""

    def __init__(self, client: valkey_asyncio.Valkey, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._down = False

    @classmethod
    def from_settings(cls, settings: ValkeySettings, *, prefix: str) -> ValkeyCache:
        client = valkey_asyncio.Valkey.from_url(
            settings.url.get_secret_value(),
            socket_timeout=settings.socket_timeout_seconds,
            socket_connect_timeout=settings.connect_timeout_seconds,
            retry_on_timeout=False,
        )
        return cls(client, prefix=prefix)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    async def get(self, name: str) -> bytes | None:
        try:
            value: bytes | None = await self.client.get(self.key(name))
        except _DOWN_ERRORS as exc:
            self._mark_down(exc)
            return None
        self._mark_up()
        return value

    async def set(self, name: str, value: bytes | str, *, ttl_seconds: int) -> bool:
        """Store with a TTL; returns False (and carries on) when Valkey is down."""
        try:
            await self.client.set(self.key(name), value, ex=ttl_seconds)
        except _DOWN_ERRORS as exc:
            self._mark_down(exc)
            return False
        self._mark_up()
        return True

    async def delete(self, *names: str) -> int:
        if not names:
            return 0
        try:
            deleted: int = await self.client.delete(*(self.key(n) for n in names))
        except _DOWN_ERRORS as exc:
            self._mark_down(exc)
            return 0
        self._mark_up()
        return deleted

    async def ping(self) -> None:
        """Readiness probe; raises when Valkey does not answer."""
        await self.client.ping()

    async def require(self) -> valkey_asyncio.Valkey:
        """The raw client, for callers that cannot work without Valkey: a clear 503 when it is down."""
        try:
            await self.client.ping()
        except _DOWN_ERRORS as exc:
            self._mark_down(exc)
            raise UnavailableError("short-term memory is unavailable: Valkey does not answer") from exc
        self._mark_up()
        return self.client

    async def close(self) -> None:
        await self.client.aclose()

    def _mark_down(self, exc: BaseException) -> None:
        if not self._down:
            _log.warning("valkey unavailable, caching skipped", extra={"error": repr(exc)})
        self._down = True

    def _mark_up(self) -> None:
        if self._down:
            _log.info("valkey available again")
        self._down = False
