"""observer-agent settings: the core concerns plus the LLM, Langfuse, Coda and the observer's own tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from pma_core.settings import CoreSettings, LangfuseSettings, LLMSettings, settings_config


# Where the observer posts reflections in Coda (the user's "Daily Thread" table) and how politely. Columns
# are named by their Coda ids (`c-...`), never by their names, which users rename. Only the key column is
# needed to post; a column left unset is simply not written.
class CodaSettings(BaseSettings):
    model_config = settings_config("CODA_")

    api_token: SecretStr | None = None
    base_url: str = "https://coda.io/apis/v1"
    doc_id: str | None = None
    table_id: str | None = None
    # The text key column: "user|date|kind", what upserts match on so that nothing is posted twice.
    column_key: str | None = None
    column_user: str | None = None
    column_date: str | None = None
    column_kind: str | None = None
    column_title: str | None = None
    column_summary: str | None = None
    column_metrics: str | None = None
    column_suggestions: str | None = None
    column_chart: str | None = None
    column_updated: str | None = None
    # Coda publishes 10 writes and 100 reads per 6 s per user; the client keeps under them itself. Writes get
    # half: the n8n sync workflows write up to 4.8 per 6 s with the same token (n8n-workflows/README.md).
    write_limit: int = Field(default=5, ge=1)
    read_limit: int = Field(default=100, ge=1)
    limit_window_seconds: float = Field(default=6.0, gt=0)
    # The least wait after a 429 (Coda sends no Retry-After); it doubles per retry, up to 60 s.
    backoff_seconds: float = Field(default=6.0, ge=0)
    max_attempts: int = Field(default=5, ge=1, le=20)
    timeout_seconds: float = Field(default=15.0, gt=0)

    @property
    def configured(self) -> bool:
        """Enough to post: a token, the doc, the table and its key column."""
        token = self.api_token.get_secret_value() if self.api_token is not None else ""
        return all((token, self.doc_id, self.table_id, self.column_key))


class ObserverSettings(BaseSettings):
    model_config = settings_config("OBSERVER_")

    # Where users reach this service (the weekly chart's URL in the Coda row is built from it).
    public_base_url: str = "http://localhost:8104"
    # Reflections whose Coda row, daily thread or insights are still owed are retried this often.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # After a trigger, Coda's queue is polled this long for the row to land (the sweep does the rest).
    post_wait_seconds: float = Field(default=10.0, ge=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    # When the LLM fails: write the offline narrative (and say so), or answer the error.
    llm_fallback: Literal["offline", "error"] = "offline"


class Settings(CoreSettings):
    service_name: str = "observer-agent"
    llm: LLMSettings = Field(default_factory=LLMSettings)
    langfuse: LangfuseSettings = Field(default_factory=LangfuseSettings)
    coda: CodaSettings = Field(default_factory=CodaSettings)
    observer: ObserverSettings = Field(default_factory=ObserverSettings)
