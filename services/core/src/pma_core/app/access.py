"""Who may call a service: bearer tokens (`PMA_API_TOKEN`) and, behind the proxy, Cloudflare Access.

A pure ASGI middleware, so a refused request is answered before routing: no body is read, no handler
runs, and a 422 never tells an unauthenticated caller anything about the route. Both checks are off
until configured (the seed trusts the internal network).

- Cloudflare Access (team domain and AUD set): a request that came through the proxy, i.e. carries
  `X-Forwarded-For` or `Forwarded` (Traefik always adds the first), must carry a valid
  `Cf-Access-Jwt-Assertion`, else 403. Calls on the internal network carry neither header and pass.
- Bearer tokens: every path but the operational ones and the API docs needs `Authorization: Bearer <token>`,
  else 401. Tokens are compared in constant time, each of them every time, so the answer's timing does not
  tell which matched.
- Admin operations (a service's declared admin routes): once `PMA_ADMIN_TOKEN` is set they need one of its
  tokens, 401 without a token and 403 with any other; until then they follow the bearer rule above. An
  admin token is accepted everywhere.
- A service's declared public paths skip both: they carry a secret of their own (the ICS feed's token,
  OAuth's single-use state) and are fetched by programs that can send neither a header nor, through an
  Access "Bypass" policy, an assertion (a calendar app subscribing to the feed).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from pma_core.app.cloudflare import ASSERTION_HEADER, AccessDeniedError, CloudflareAccessVerifier
from pma_core.app.middleware import scope_header, send_json
from pma_core.errors import AppError, error_body

# Liveness, readiness and metrics are scraped without credentials; the API's own description is not
# data, and Swagger UI loads it before the user can press "Authorize".
ALWAYS_PUBLIC_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
_PROXY_HEADERS = (b"x-forwarded-for", b"forwarded")
# status, error body, extra headers
_Refusal = tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]


def public_path_patterns(paths: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Route templates (`/v1/calendars/{user_id}.ics`) as the patterns Starlette's router matches them by."""
    return tuple(compile_path(path)[0] for path in paths)


def admin_route_patterns(routes: Iterable[tuple[str, str]]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(method, route template) pairs as (METHOD, pattern); the method `*` stands for any."""
    return tuple((method.upper(), compile_path(path)[0]) for method, path in routes)


def _bearer(scope: Scope) -> str | None:
    scheme, _, credentials = (scope_header(scope, b"authorization") or "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: tuple[str, ...],
        cloudflare: CloudflareAccessVerifier | None,
        public_paths: tuple[re.Pattern[str], ...],
        admin_tokens: tuple[str, ...] = (),
        admin_routes: tuple[tuple[str, re.Pattern[str]], ...] = (),
    ) -> None:
        self.app = app
        self.api_tokens = tuple(token.encode() for token in tokens)
        self.admin_tokens = tuple(token.encode() for token in admin_tokens)
        self.cloudflare = cloudflare
        self.public_paths = public_paths
        self.admin_routes = admin_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, body, headers = refusal
        await send_json(send, status, body, headers)

    async def _refusal(self, scope: Scope) -> _Refusal | None:
        if self._declared_public(scope["path"]):
            return None
        proxied = any(scope_header(scope, name) is not None for name in _PROXY_HEADERS)
        if proxied and self.cloudflare is not None and (refused := await self._cloudflare_refusal(scope)) is not None:
            return refused
        if self.admin_tokens and self._is_admin(scope["method"], scope["path"]):
            return self._admin_refusal(_bearer(scope))
        if not self.api_tokens or scope["path"] in ALWAYS_PUBLIC_PATHS:
            return None  # with only admin tokens set, everything but the admin operations stays open
        presented = _bearer(scope)
        if presented is None:
            return _unauthorized("this endpoint needs Authorization: Bearer <token> (PMA_API_TOKEN)")
        if not _matches(presented.encode(), self.api_tokens + self.admin_tokens):
            return _unauthorized("the bearer token is not one of PMA_API_TOKEN")
        return None

    async def _cloudflare_refusal(self, scope: Scope) -> _Refusal | None:
        assert self.cloudflare is not None
        try:
            await self.cloudflare.verify(scope_header(scope, ASSERTION_HEADER.encode()) or None)
        except AccessDeniedError as exc:
            return 403, error_body("forbidden", str(exc)), []
        except AppError as exc:
            return exc.status_code, error_body(exc.code, exc.message, exc.details), []
        return None

    def _admin_refusal(self, presented: str | None) -> _Refusal | None:
        if presented is None:
            return _unauthorized("this admin operation needs Authorization: Bearer <token> (PMA_ADMIN_TOKEN)")
        if _matches(presented.encode(), self.admin_tokens):
            return None
        return 403, error_body("forbidden", "this is an admin operation: it needs a token of PMA_ADMIN_TOKEN"), []

    def _is_admin(self, method: str, path: str) -> bool:
        return any(m in ("*", method) and pattern.match(path) for m, pattern in self.admin_routes)

    def _declared_public(self, path: str) -> bool:
        return any(pattern.match(path) for pattern in self.public_paths)


def _unauthorized(message: str) -> _Refusal:
    return 401, error_body("unauthorized", message), [(b"www-authenticate", b'Bearer realm="pma"')]


def _matches(presented: bytes, tokens: tuple[bytes, ...]) -> bool:
    """Whether `presented` is one of `tokens`, comparing with each, in constant time."""
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(presented, token)
    return matched
