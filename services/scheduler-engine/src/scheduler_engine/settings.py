"""scheduler-engine settings: the core concerns plus solving, the ICS feed and Google Calendar."""

from __future__ import annotations

import os

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from pma_core.settings import CoreSettings, settings_config


class SchedulerSettings(BaseSettings):
    model_config = settings_config("SCHEDULER_")

    # CP-SAT's time limit per run (seconds); the greedy answer stands when it finds nothing better in time.
    time_limit_seconds: float = Field(default=5.0, gt=0, le=120)
    # CP-SAT's parallel workers and seed: results vary with workers, so tests and the bench fix both. None:
    # the machine's cores, at most 8 (8 workers on 2 cores starved every other request: docs/benchmarks.md).
    num_workers: int | None = Field(default=None, ge=1, le=64)
    # Solves one process runs at once; more wait their turn (each already uses `num_workers` threads).
    max_concurrent_solves: int = Field(default=1, ge=1, le=16)
    random_seed: int = Field(default=0, ge=0)
    # The window a run schedules into when the request names none (days from now).
    window_days: int = Field(default=14, ge=1, le=90)
    # Runs left unfinished (a crash mid-solve) and reports the planner did not take are retried this often.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # Where the ICS feed is reachable from a calendar app (its URL is shown with this base).
    public_base_url: str = "http://localhost:8103"
    # How often calendar apps are asked to refetch the ICS feed (REFRESH-INTERVAL; Google refreshes
    # subscribed feeds every 12-24 hours whatever it says).
    feed_refresh_minutes: int = Field(default=60, ge=5, le=1440)


def solver_workers(configured: int | None) -> int:
    """CP-SAT's workers: as configured, else the machine's cores, at most 8."""
    return configured if configured is not None else max(1, min(8, os.cpu_count() or 1))


class GoogleSettings(BaseSettings):
    """Google Calendar through OAuth 2.0: each user connects with the web flow (/v1/oauth/google/start),
    or one user is set up from the environment (GOOGLE_USER_ID + GOOGLE_REFRESH_TOKEN)."""

    model_config = settings_config("GOOGLE_")

    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Fernet key (base64, 32 bytes) that encrypts the users' refresh tokens at rest; the web flow needs it.
    token_key: SecretStr | None = None
    # Where Google sends the user back after consent: this service's /v1/oauth/google/callback, as reached
    # from the user's browser.
    redirect_uri: str = "http://localhost:8103/v1/oauth/google/callback"
    # One user set up from the environment (a refresh token `pma google-auth` printed).
    refresh_token: SecretStr | None = None
    user_id: str | None = None
    calendar_id: str = "primary"
    auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"
    # None: Google's own; tests point it at the loopback fake.
    api_endpoint: str | None = None

    @property
    def enabled(self) -> bool:
        """Some user can have a Google calendar: from the environment, or through the web flow."""
        return bool(self.client_id and ((self.refresh_token and self.user_id) or self.token_key))


class Settings(CoreSettings):
    service_name: str = "scheduler-engine"
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    google: GoogleSettings = Field(default_factory=GoogleSettings)
