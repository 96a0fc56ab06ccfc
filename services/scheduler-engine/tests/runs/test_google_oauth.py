"""Connecting a Google Calendar with the OAuth 2.0 web flow (PKCE, single-use state) against the fake's
consent and token endpoints; the grant is stored encrypted, and a revoked grant says to re-authorise."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import RunCreate, RunTask
from pma_core.settings import PostgresSettings
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from pma_core.testing.serve import serve
from scheduler_engine.main import create_app
from scheduler_engine.settings import GoogleSettings, Settings

from .conftest import finished_run

USER = "bo"
KEY = Fernet.generate_key()
TOMORROW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as server:
        yield server


@pytest.fixture
async def scheduler_with_oauth(
    scheduler_settings: Settings, scheduler_port: int, google: FakeGoogleCalendar
) -> AsyncIterator[SchedulerEngineClient]:
    settings = scheduler_settings.model_copy(
        update={
            "google": GoogleSettings(
                client_id=google.client_id,
                client_secret=google.client_secret,
                token_key=KEY.decode(),
                redirect_uri=f"http://127.0.0.1:{scheduler_port}/v1/oauth/google/callback",
                auth_uri=f"{google.root_url}/o/oauth2/v2/auth",
                token_uri=google.token_url,
                api_endpoint=google.url,
            )
        }
    )
    async with serve(create_app(settings), port=scheduler_port) as url:
        client = SchedulerEngineClient(url, timeout=15.0, retries=0)
        try:
            yield client
        finally:
            await client.aclose()


async def _consent(http: httpx.AsyncClient, google: FakeGoogleCalendar) -> httpx.Response:
    """Start the flow, play Google's consent screen, follow its redirect back to the callback."""
    start = await http.get("/v1/oauth/google/start", params={"user_id": USER})
    assert start.status_code == 307
    consent = urlparse(start.headers["location"])
    query = {key: values[0] for key, values in parse_qs(consent.query).items()}
    assert (query["access_type"], query["code_challenge_method"], query["response_type"]) == ("offline", "S256", "code")
    code = google.issue_authorization_code(
        USER, redirect_uri=query["redirect_uri"], code_challenge=query["code_challenge"]
    )
    return await http.get("/v1/oauth/google/callback", params={"state": query["state"], "code": code})


async def test_a_user_connects_their_calendar_and_their_blocks_go_there(
    scheduler_with_oauth: SchedulerEngineClient, google: FakeGoogleCalendar, postgres_settings: PostgresSettings
) -> None:
    async with httpx.AsyncClient(base_url=scheduler_with_oauth.base_url) as http:
        connected = await _consent(http, google)
        assert connected.status_code == 200
        assert connected.json() == {"user_id": USER, "connected": True}
        assert "token" not in connected.text
        # The state is single use.
        replay = await http.get("/v1/oauth/google/callback", params={"state": "x" * 43, "code": "4/anything"})
        assert replay.status_code == 422

    conn = await asyncpg.connect(postgres_settings.url.get_secret_value())
    try:
        stored = await conn.fetchval("SELECT refresh_token FROM google_credentials WHERE user_id = $1", USER)
    finally:
        await conn.close()
    refresh_token = Fernet(KEY).decrypt(bytes(stored)).decode()
    assert refresh_token.encode() not in bytes(stored)  # encrypted at rest

    tasks = [RunTask(id=uuid.uuid4(), title="Deep work", estimate_minutes=60)]
    request = RunCreate(user_id=USER, tasks=tasks, window_start=TOMORROW, window_days=3)
    run = await finished_run(scheduler_with_oauth, USER, (await scheduler_with_oauth.create_run(request)).run_id)
    assert run.calendar_error is None
    assert [e["summary"] for e in google.events(USER)] == ["Deep work"]

    # The user removes the app's access: the next run says to re-authorise, and shows no token.
    google.revoke_refresh_token(refresh_token)
    again = await finished_run(scheduler_with_oauth, USER, (await scheduler_with_oauth.create_run(request)).run_id)
    problem = again.error or again.calendar_error or ""
    assert "re-authorise" in problem
    assert refresh_token not in problem


async def test_the_flow_without_a_token_key_is_refused(scheduler: SchedulerEngineClient) -> None:
    async with httpx.AsyncClient(base_url=scheduler.base_url) as http:
        response = await http.get("/v1/oauth/google/start", params={"user_id": USER})
        callback = await http.get("/v1/oauth/google/callback", params={"state": "x" * 43, "code": "4/anything"})
    # The deployment's configuration, not the caller's input: a 409 that says what to set.
    assert (response.status_code, response.json()["error"]["code"]) == (409, "google_not_configured")
    assert "GOOGLE_TOKEN_KEY" in response.json()["error"]["message"]
    assert callback.status_code == 409


async def test_a_redirect_without_state_or_code_or_with_a_refusal_is_422(
    scheduler_with_oauth: SchedulerEngineClient,
) -> None:
    async with httpx.AsyncClient(base_url=scheduler_with_oauth.base_url) as http:
        no_state = await http.get("/v1/oauth/google/callback", params={"code": "4/anything"})
        no_code = await http.get("/v1/oauth/google/callback", params={"state": "x" * 43})
        refused = await http.get("/v1/oauth/google/callback", params={"state": "x" * 43, "error": "access_denied"})
    assert (no_state.status_code, no_code.status_code, refused.status_code) == (422, 422, 422)
    assert no_state.json()["error"]["details"][0]["field"] == "query.state"
    assert no_code.json()["error"]["details"][0]["field"] == "query.code"
    assert "access_denied" in refused.json()["error"]["message"]


async def test_a_user_is_disconnected_once(
    scheduler_with_oauth: SchedulerEngineClient, google: FakeGoogleCalendar
) -> None:
    async with httpx.AsyncClient(base_url=scheduler_with_oauth.base_url) as http:
        assert (await _consent(http, google)).status_code == 200
        gone = await http.delete(f"/v1/oauth/google/connections/{USER}")
        again = await http.delete(f"/v1/oauth/google/connections/{USER}")
        # `/start` is the flow's, never a user's connection.
        start = await http.delete("/v1/oauth/google/start")
    assert (gone.status_code, again.status_code) == (204, 404)
    assert start.status_code == 405
    assert "DELETE" not in start.headers["allow"]
