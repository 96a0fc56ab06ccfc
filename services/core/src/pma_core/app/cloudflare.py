"""Cloudflare Access assertions: the `Cf-Access-Jwt-Assertion` a request carries once Access let it through.

Access signs it with RS256; the team's public keys are at `https://<team>.cloudflareaccess.com/cdn-cgi/
access/certs` (a JWKS) and rotate, so they are cached for a while and fetched again at once, though at most
every 30 s, when an assertion names a key id that is not known (a rotation, or a forged `kid`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from pma_core.errors import UnavailableError
from pma_core.settings import CloudflareAccessSettings

ASSERTION_HEADER = "cf-access-jwt-assertion"
_UNKNOWN_KEY_REFRESH_SECONDS = 30.0


class AccessDeniedError(Exception):
    """The assertion is missing or does not hold; the message says why, never what it carried."""


class CloudflareAccessVerifier:
    def __init__(
        self,
        settings: CloudflareAccessSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._transport = transport
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def verify(self, assertion: str | None) -> dict[str, Any]:
        """The assertion's claims once its signature, `aud`, `iss` and `exp` hold; AccessDeniedError otherwise,
        UnavailableError when the team's keys cannot be read (nothing is let through unverified)."""
        if not assertion:
            raise AccessDeniedError("this request came through the proxy without a Cloudflare Access assertion")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.DecodeError:
            raise AccessDeniedError("the Cloudflare Access assertion is not a JWT") from None
        if header.get("alg") != "RS256":
            raise AccessDeniedError("the Cloudflare Access assertion is not signed with RS256")
        key = await self._key(str(header.get("kid", "")))
        return self._decode(assertion, key)

    def _decode(self, assertion: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key.key,
                algorithms=["RS256"],
                audience=list(self.settings.audiences),
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AccessDeniedError("the Cloudflare Access assertion has expired") from None
        except jwt.InvalidAudienceError:
            raise AccessDeniedError("the Cloudflare Access assertion is for another application (aud)") from None
        except jwt.InvalidIssuerError:
            raise AccessDeniedError("the Cloudflare Access assertion is from another team (iss)") from None
        except jwt.InvalidSignatureError:
            raise AccessDeniedError("the Cloudflare Access assertion's signature does not verify") from None
        except jwt.InvalidTokenError as exc:
            raise AccessDeniedError(f"the Cloudflare Access assertion is invalid: {type(exc).__name__}") from None
        return claims

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            now = self._monotonic()
            age = None if self._fetched_at is None else now - self._fetched_at
            stale = age is None or age >= self.settings.keys_cache_seconds
            unknown = kid not in self._keys and (age is None or age >= _UNKNOWN_KEY_REFRESH_SECONDS)
            if stale or unknown:
                self._keys = await self._fetch()
                self._fetched_at = now
        if kid not in self._keys:
            raise AccessDeniedError("the Cloudflare Access assertion names a key the team does not publish")
        return self._keys[kid]

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        url = self.settings.keys_url
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_seconds, transport=self._transport) as http:
                response = await http.get(url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            if self._keys:
                return self._keys  # keep verifying with the keys we have; the next miss asks again
            raise UnavailableError(
                f"Cloudflare Access keys could not be read from {url}: {type(exc).__name__}",
                details={"dependency": "cloudflare_access"},
            ) from exc
        return {str(key.key_id): key for key in keys.keys if key.key_id}
