"""`pma google-auth`: the installed-app flow against the fake's consent and token endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import typer

from pma_core.embedded.process import free_port
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from scheduler_engine.cli import installed_app_flow
from scheduler_engine.settings import GoogleSettings, Settings


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as server:
        yield server


def _settings(google: FakeGoogleCalendar) -> Settings:
    return Settings(
        google=GoogleSettings(
            client_id=google.client_id,
            client_secret=google.client_secret,
            token_uri=google.token_url,
            auth_uri=f"{google.root_url}/o/oauth2/v2/auth",
        )
    )


def _browser(google: FakeGoogleCalendar, *, consent: bool) -> object:
    """What a person does with the printed URL: consents (or refuses), and Google redirects back."""

    def show(message: str) -> None:
        url = urlparse(message.splitlines()[-1])
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if consent:
            code = google.issue_authorization_code("cli-user", redirect_uri=query["redirect_uri"],
                                                   code_challenge=query["code_challenge"])  # fmt: skip
            back = {"code": code, "state": query["state"]}
        else:
            back = {"error": "access_denied", "state": query["state"]}
        httpx.get(query["redirect_uri"], params=back, timeout=5)

    return show


def test_consent_gives_a_refresh_token_that_works(google: FakeGoogleCalendar) -> None:
    token = installed_app_flow(_settings(google), port=free_port(), show=_browser(google, consent=True), timeout=10)  # type: ignore[arg-type]
    refreshed = httpx.post(
        google.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": google.client_id,
            "client_secret": google.client_secret,
        },
    )
    assert refreshed.status_code == 200
    assert "access_token" in refreshed.json()


def test_a_refused_consent_is_a_clear_error(google: FakeGoogleCalendar) -> None:
    with pytest.raises(typer.BadParameter, match="access_denied"):
        installed_app_flow(_settings(google), port=free_port(), show=_browser(google, consent=False), timeout=10)  # type: ignore[arg-type]
