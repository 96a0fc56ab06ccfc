"""Access control at the edge, over real HTTP: bearer tokens (PMA_API_TOKEN) and Cloudflare Access assertions
checked against a JWKS served on loopback, with RSA keys this test makes."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from pma_core.app import build_app
from pma_core.app.cloudflare import AccessDeniedError, CloudflareAccessVerifier
from pma_core.clients.base import ServiceClient
from pma_core.errors import UnavailableError, UpstreamError
from pma_core.logging import redact
from pma_core.settings import AccessSettings, CloudflareAccessSettings, CoreSettings
from pma_core.testing.serve import serve
from pma_core.testing.threaded_server import LoopbackFake

TEAM = "pma-test.cloudflareaccess.com"
AUD = "aud-0123456789abcdef"
NEW, OLD = "tok-new-4f9c2a", "tok-old-77b1e0"
PROXIED = {"X-Forwarded-For": "203.0.113.7"}

router = APIRouter()


class Note(BaseModel):
    text: str


@router.post("/v1/notes")
async def add_note(note: Note) -> dict[str, str]:
    return {"text": note.text}


@router.post("/v1/admin/purge/{what}")
async def purge(what: str) -> dict[str, str]:
    return {"purged": what}


@router.get("/v1/admin/purge/{what}")
async def purge_status(what: str) -> dict[str, str]:
    return {"status": what}


@router.get("/v1/feeds/{user_id}.ics")
async def feed(user_id: str) -> dict[str, str]:
    return {"feed": user_id}


def _app(
    *, tokens: str | None = None, admin: str | None = None, cloudflare: CloudflareAccessSettings | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"readiness": []}

    settings = CoreSettings(
        service_name="guarded",
        access=AccessSettings(
            api_token=SecretStr(tokens) if tokens else None, admin_token=SecretStr(admin) if admin else None
        ),
        cloudflare_access=cloudflare or CloudflareAccessSettings(),
    )
    return build_app(
        settings=settings, version="1", description="d", lifespan=lifespan, routers=[router],
        public_paths=["/v1/feeds/{user_id}.ics"], admin_routes=[("POST", "/v1/admin/purge/{what}")],
    )  # fmt: skip


@asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- bearer tokens -----------------------------------------------------------------------------------------


async def test_without_a_token_setting_everything_is_open() -> None:
    async with _served(_app()) as http:
        assert (await http.post("/v1/notes", json={"text": "hi"})).status_code == 200


async def test_every_endpoint_needs_one_of_the_tokens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with _served(_app(tokens=f"{NEW}, {OLD}")) as http:
        missing = await http.post("/v1/notes", json={"text": "hi"})
        wrong = await http.post("/v1/notes", json={"text": "hi"}, headers=_bearer("tok-guess"))
        basic = await http.post("/v1/notes", json={"text": "hi"}, headers={"Authorization": f"Basic {NEW}"})
        new = await http.post("/v1/notes", json={"text": "hi"}, headers=_bearer(NEW))
        old = await http.post("/v1/notes", json={"text": "hi"}, headers=_bearer(OLD))
        metrics = (await http.get("/metrics")).text
    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing.json()["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer" in missing.json()["error"]["message"]
    assert wrong.json()["error"]["message"] == "the bearer token is not one of PMA_API_TOKEN"
    assert missing.headers["www-authenticate"] == 'Bearer realm="pma"'
    assert missing.headers["x-request-id"]  # refused inside the edge: it has a request id and is counted
    assert 'status="401"' in metrics
    assert (new.status_code, old.status_code) == (200, 200)  # both tokens of a rotation are accepted
    assert NEW not in caplog.text
    assert OLD not in caplog.text
    assert NEW not in wrong.text


async def test_admin_routes_need_an_admin_token_once_one_is_set() -> None:
    purge = "/v1/admin/purge/cache"
    async with _served(_app(tokens=NEW)) as http:  # no admin token yet: the ordinary rule
        assert (await http.post(purge, headers=_bearer(NEW))).status_code == 200
    async with _served(_app(tokens=NEW, admin="adm-1,adm-2")) as http:
        missing = await http.post(purge)
        ordinary = await http.post(purge, headers=_bearer(NEW))
        admin = await http.post(purge, headers=_bearer("adm-2"))
        status = await http.get(purge, headers=_bearer(NEW))  # only the declared method is an admin one
        elsewhere = await http.post("/v1/notes", json={"text": "x"}, headers=_bearer("adm-1"))
    assert (missing.status_code, ordinary.status_code, admin.status_code) == (401, 403, 200)
    assert ordinary.json()["error"] == {
        "code": "forbidden", "message": "this is an admin operation: it needs a token of PMA_ADMIN_TOKEN",
        "details": None,
    }  # fmt: skip
    assert "PMA_ADMIN_TOKEN" in missing.json()["error"]["message"]
    assert (status.status_code, elsewhere.status_code) == (200, 200)  # an admin token is good everywhere
    async with _served(_app(admin="adm-1")) as http:  # admin only: the rest stays open
        assert (await http.post("/v1/notes", json={"text": "x"})).status_code == 200
        assert (await http.post(purge, headers=_bearer("adm-3"))).status_code == 403


async def test_a_refusal_comes_before_the_body_is_looked_at() -> None:
    async with _served(_app(tokens=NEW)) as http:
        response = await http.post("/v1/notes", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 401  # not a 422 that would describe the route to a stranger


async def test_operations_docs_and_declared_public_paths_need_no_token() -> None:
    async with _served(_app(tokens=NEW)) as http:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc", "/v1/feeds/ada.ics"):
            assert (await http.get(path)).status_code == 200, path
        assert (await http.get("/v1/feeds/ada.ics/more")).status_code == 401  # only the template's own path
        assert (await http.get("/v1/no-such-route")).status_code == 401  # unknown routes tell nothing either


async def test_the_openapi_declares_the_bearer_scheme() -> None:
    schema = _app(tokens=NEW).openapi()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "One of PMA_API_TOKEN's tokens; required on every operation once it is set.",
    }  # fmt: skip
    assert schema["paths"]["/v1/notes"]["post"]["security"] == [{"bearerAuth": []}, {}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert schema["paths"]["/v1/feeds/{user_id}.ics"]["get"]["security"] == []


async def test_service_clients_send_the_first_token_and_name_a_refusal() -> None:
    async with serve(_app(tokens=f"{NEW},{OLD}")) as url:
        client = ServiceClient(url, bearer_token=NEW, retries=0)
        stranger = ServiceClient(url, bearer_token="tok-other", retries=0)
        try:
            assert (await client.request("POST", "/v1/notes", json={"text": "hi"})).json() == {"text": "hi"}
            with pytest.raises(UpstreamError) as refused:
                await stranger.request("POST", "/v1/notes", json={"text": "hi"})
        finally:
            await client.aclose()
            await stranger.aclose()
    # A 502 to our own caller: their request was fine, this service's credentials were not.
    assert refused.value.status_code == 502
    assert "refused this service's credentials (401)" in refused.value.message
    assert "tok-other" not in refused.value.message


def test_secrets_are_redacted_from_log_lines() -> None:
    line = '127.0.0.1:5 - "GET /v1/calendars/ada.ics?token=s3cr3t&x=1 HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1:5 - "GET /v1/calendars/ada.ics?token=[redacted]&x=1 HTTP/1.1" 200'
    assert redact("GET /callback?state=abc&code=4/0Ab HTTP/1.1") == (
        "GET /callback?state=[redacted]&code=[redacted] HTTP/1.1"
    )
    assert redact("Authorization: Bearer tok-123.abc") == "Authorization: Bearer [redacted]"
    assert redact("GET /v1/tasks?user_id=ada&status=done") == "GET /v1/tasks?user_id=ada&status=done"


# --- Cloudflare Access -------------------------------------------------------------------------------------


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Team(LoopbackFake):
    """A Cloudflare Access team: RSA signing keys and the JWKS endpoint that publishes their public halves."""

    server_name = "fake-cloudflare-access"

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.fetches = 0
        self.failing = False

    def app(self) -> ASGIApp:
        return Starlette(routes=[Route("/cdn-cgi/access/certs", self._certs)])

    def add_key(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)

    async def _certs(self, _: Request) -> JSONResponse:
        self.fetches += 1
        if self.failing:
            return JSONResponse({"error": "down"}, status_code=503)
        jwks = []
        for kid in self.published:
            numbers = self.keys[kid].public_key().public_numbers()
            jwks.append({"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "e": _b64(numbers.e),
                         "n": _b64(numbers.n)})  # fmt: skip
        return JSONResponse({"keys": jwks, "public_cert": {"kid": "x", "cert": "..."}, "public_certs": []})

    def settings(self, **overrides: Any) -> CloudflareAccessSettings:
        values: dict[str, Any] = {"team_domain": TEAM, "aud": f"other-app, {AUD}", "certs_url": self.certs_url}
        return CloudflareAccessSettings(**(values | overrides))

    @property
    def certs_url(self) -> str:
        assert self._http is not None, "not started"
        return f"http://127.0.0.1:{self._http.port}/cdn-cgi/access/certs"

    def assertion(self, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        payload = {"aud": [AUD], "iss": f"https://{TEAM}", "exp": now + 300, "iat": now, "email": "op@example.com"}
        return jwt.encode(payload | claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def team() -> Iterator[Team]:
    made = Team()
    made.add_key("k1")
    with made:
        yield made


def _with(assertion: str, **headers: str) -> dict[str, str]:
    return PROXIED | {"Cf-Access-Jwt-Assertion": assertion} | headers


async def test_a_proxied_request_needs_a_valid_assertion(team: Team) -> None:
    now = int(time.time())
    cases = {
        "missing": (PROXIED, "without a Cloudflare Access assertion"),
        "garbage": (_with("not-a-jwt"), "not a JWT"),
        "expired": (_with(team.assertion(exp=now - 120)), "has expired"),
        "other app": (_with(team.assertion(aud=["someone-else"])), "another application"),
        "other team": (_with(team.assertion(iss="https://evil.cloudflareaccess.com")), "another team"),
        "hs256": (_with(jwt.encode({"aud": AUD}, "k" * 32, algorithm="HS256")), "not signed with RS256"),
    }
    async with _served(_app(cloudflare=team.settings())) as http:
        for name, (headers, reason) in cases.items():
            response = await http.get("/healthz", headers=headers)
            assert response.status_code == 403, name
            assert response.json()["error"]["code"] == "forbidden", name
            assert reason in response.json()["error"]["message"], name
        assert (await http.get("/healthz", headers=_with(team.assertion()))).status_code == 200
        assert (await http.get("/healthz")).status_code == 200  # the internal network sends no proxy header
        # A calendar app fetching the feed through an Access Bypass policy has no assertion: the feed's own
        # token guards it.
        assert (await http.get("/v1/feeds/ada.ics", headers=PROXIED)).status_code == 200


async def test_a_forged_signature_is_refused(team: Team) -> None:
    team.add_key("k2", publish=False)
    forged = jwt.encode(
        {"aud": AUD, "iss": f"https://{TEAM}", "exp": int(time.time()) + 60}, team.keys["k2"], algorithm="RS256",
        headers={"kid": "k1"},
    )  # fmt: skip
    async with _served(_app(cloudflare=team.settings())) as http:
        response = await http.get("/healthz", headers=_with(forged))
    assert response.status_code == 403
    assert "signature does not verify" in response.json()["error"]["message"]


async def test_access_and_the_bearer_token_both_apply(team: Team) -> None:
    async with _served(_app(tokens=NEW, cloudflare=team.settings())) as http:
        assertion = team.assertion()
        assert (await http.post("/v1/notes", json={"text": "a"}, headers=_with(assertion))).status_code == 401
        both = _with(assertion, Authorization=f"Bearer {NEW}")
        assert (await http.post("/v1/notes", json={"text": "a"}, headers=both)).status_code == 200
        token_only = _bearer(NEW) | PROXIED
        assert (await http.post("/v1/notes", json={"text": "a"}, headers=token_only)).status_code == 403


async def test_keys_are_cached_and_a_rotation_is_picked_up(team: Team) -> None:
    clock = [1000.0]
    verifier = CloudflareAccessVerifier(team.settings(keys_cache_seconds=600), monotonic=lambda: clock[0])
    assert (await verifier.verify(team.assertion()))["email"] == "op@example.com"
    await verifier.verify(team.assertion())
    assert team.fetches == 1  # cached
    team.add_key("k2")  # Cloudflare rotates: a new key is published and signs from now on
    clock[0] += 5
    with pytest.raises(AccessDeniedError, match="names a key"):
        await verifier.verify(team.assertion("k2"))  # within 30 s of the last fetch an unknown kid asks nothing
    assert team.fetches == 1
    clock[0] += 30
    await verifier.verify(team.assertion("k2"))
    assert team.fetches == 2
    clock[0] += 600
    await verifier.verify(team.assertion("k1"))
    assert team.fetches == 3  # the cache ran out


async def test_unreadable_keys_fail_closed_then_the_cached_ones_carry_on(team: Team) -> None:
    clock = [0.0]
    verifier = CloudflareAccessVerifier(team.settings(keys_cache_seconds=60), monotonic=lambda: clock[0])
    team.failing = True
    with pytest.raises(UnavailableError, match="Cloudflare Access keys could not be read"):
        await verifier.verify(team.assertion())
    async with _served(_app(cloudflare=team.settings())) as http:
        response = await http.get("/healthz", headers=_with(team.assertion()))
    assert (response.status_code, response.json()["error"]["code"]) == (503, "unavailable")
    team.failing = False
    await verifier.verify(team.assertion())
    team.failing = True
    clock[0] += 120  # stale, and the endpoint is down: the keys already read still verify
    assert (await verifier.verify(team.assertion()))["aud"] == [AUD]
