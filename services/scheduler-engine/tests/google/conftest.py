"""The fake Google Calendar (one server per session, reset around each test) and what talks to it.

`google_service` is the real googleapiclient on the fake (for the fake's own wire tests); `calendar` the
adapter under test, with the real google-auth refresh flow against the fake's token endpoint and a
backoff of milliseconds (its waits are recorded in `backoff_waits`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build  # type: ignore[import-untyped]

from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from scheduler_engine.adapters.google_calendar import GoogleCalendar, RetryPolicy

USER = "ada@example.com"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.002, max_delay=0.02)
CredentialsMaker = Callable[[str], Credentials]


@pytest.fixture(scope="session")
def google_server() -> Iterator[FakeGoogleCalendar]:
    """The session's fake; prefer `fake_google`, which also resets it around each test."""
    with FakeGoogleCalendar() as server:
        yield server


@pytest.fixture
def fake_google(google_server: FakeGoogleCalendar) -> Iterator[FakeGoogleCalendar]:
    google_server.reset()
    yield google_server
    google_server.reset()


@pytest.fixture
def refresh_token(fake_google: FakeGoogleCalendar) -> str:
    """`USER`'s refresh token (the fake creates the user and their primary calendar)."""
    return fake_google.add_user(USER)


@pytest.fixture
def make_credentials(fake_google: FakeGoogleCalendar) -> CredentialsMaker:
    """Fresh credentials with no access token: the first call refreshes through the fake's token endpoint."""

    def make(token: str) -> Credentials:
        return Credentials(
            token=None, refresh_token=token, token_uri=fake_google.token_url,
            client_id=fake_google.client_id, client_secret=fake_google.client_secret,
        )  # fmt: skip

    return make


@pytest.fixture
def google_service(
    fake_google: FakeGoogleCalendar, refresh_token: str, make_credentials: CredentialsMaker
) -> Iterator[Any]:
    service = build(
        "calendar", "v3", credentials=make_credentials(refresh_token), static_discovery=True,
        client_options={"api_endpoint": fake_google.url},
    )  # fmt: skip
    with service:
        yield service


@pytest.fixture
def backoff_waits() -> list[float]:
    return []


@pytest.fixture
def calendar(
    fake_google: FakeGoogleCalendar,
    refresh_token: str,
    make_credentials: CredentialsMaker,
    backoff_waits: list[float],
) -> GoogleCalendar:
    tokens = {USER: refresh_token}

    async def credentials_for(user_id: str) -> Credentials:
        return make_credentials(tokens[user_id])

    async def sleep(seconds: float) -> None:
        backoff_waits.append(seconds)

    return GoogleCalendar(
        credentials_for, api_endpoint=fake_google.url, retry=FAST_RETRY, timeout_seconds=5.0, page_size=3,
        sleep=sleep,
    )  # fmt: skip
