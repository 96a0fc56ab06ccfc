"""Settings split by concern: one `BaseSettings` per concern, each with its own environment prefix.

Every variable here is listed, with a comment, in `.env.example`. Secrets are `SecretStr` so that a
settings object printed into a log or a traceback never shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".pma-data")


def settings_config(prefix: str) -> SettingsConfigDict:
    """What every concern's settings share: its env prefix, `.env`, frozen, and empty meaning unset."""
    # An empty variable (`LLM_API_KEY=` in .env) means "not set", not "set to the empty string".
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True)


class PostgresSettings(BaseSettings):
    model_config = settings_config("POSTGRES_")

    url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:54320/pma")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    # Bounds on each wait, so a hung server (a stalled disk, a network partition) or a stopped one answers a 503
    # `unavailable` naming Postgres within about 3 s instead of hanging (docs/api.md, "When Postgres hangs").
    # A statement running longer is cancelled (asyncpg's client-side statement timeout). Every request's
    # queries take milliseconds; the reindex sets a longer one of its own, the migrations do not use the pool.
    command_timeout_seconds: float = Field(default=2.5, gt=0)
    # Opening a new connection (TCP, start-up, authentication).
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    # Getting a connection from the pool: a free one, or a new one being opened.
    acquire_timeout_seconds: float = Field(default=2.0, gt=0)
    # Handing a connection back (the cancel of a timed-out statement acknowledged, the session reset); one
    # not back within this is closed instead of pooled, so a hung connection never serves another request.
    release_timeout_seconds: float = Field(default=0.5, gt=0)
    # Prepared statements asyncpg keeps per connection (its default, 100); 0 behind a PgBouncer in transaction
    # mode older than 1.21 (whose next statement may land on a server connection that never prepared it).
    statement_cache_size: int = Field(default=100, ge=0)
    # Each service applies pending migrations at start-up, under an advisory lock.
    auto_migrate: bool = True
    # Where the `NNN_name.sql` files live; None finds the repository's `migrations/`.
    migrations_dir: Path | None = None


class ValkeySettings(BaseSettings):
    model_config = settings_config("VALKEY_")

    url: SecretStr = SecretStr("redis://127.0.0.1:63790/0")
    # Prepended to every key; a service's default is its own name, so services never collide.
    key_prefix: str | None = None
    socket_timeout_seconds: float = Field(default=0.5, gt=0)
    connect_timeout_seconds: float = Field(default=0.5, gt=0)


class QdrantSettings(BaseSettings):
    model_config = settings_config("QDRANT_")

    # A Qdrant server; when unset the embedded engine (qdrant-edge) is used at `path`.
    url: str | None = None
    api_key: SecretStr | None = None
    path: Path = DEFAULT_DATA_DIR / "qdrant"
    timeout_seconds: float = Field(default=5.0, gt=0)


EmbeddingProvider = Literal["hashing", "openai", "fastembed"]


class EmbeddingSettings(BaseSettings):
    model_config = settings_config("EMBEDDING_")

    # None picks one: `openai` when an API key is set, else the offline `hashing` embedder.
    provider: EmbeddingProvider | None = None
    base_url: str = "https://openrouter.ai/api/v1"
    api_key: SecretStr | None = None
    model: str = "openai/text-embedding-3-small"
    # Asks the provider for this many dimensions (OpenAI `dimensions`); None keeps its native size.
    dimensions: int | None = Field(default=None, ge=8, le=8192)
    hashing_dimensions: int = Field(default=384, ge=8, le=8192)
    fastembed_model: str = "BAAI/bge-small-en-v1.5"
    timeout_seconds: float = Field(default=20.0, gt=0)

    def resolved_provider(self) -> EmbeddingProvider:
        if self.provider is not None:
            return self.provider
        return "openai" if self.api_key is not None else "hashing"


class LLMSettings(BaseSettings):
    model_config = settings_config("LLM_") | SettingsConfigDict(populate_by_name=True)

    base_url: str = "https://openrouter.ai/api/v1"
    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("LLM_API_KEY", "OPENROUTER_API_KEY"))
    model: str = "openai/gpt-4o-mini"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    # The switch that forbids real model calls: tests set it to false, and then only a loopback
    # base URL (a fake server) may be called.
    allow_model_requests: bool = True
    # OpenRouter identifies the caller by these headers.
    app_name: str = "Planner & Memory"
    app_url: str = "https://github.com/pma"

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class LangfuseSettings(BaseSettings):
    model_config = settings_config("LANGFUSE_")

    public_key: str | None = None
    secret_key: SecretStr | None = None
    host: str = "https://cloud.langfuse.com"
    timeout_seconds: float = Field(default=3.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.public_key) and self.secret_key is not None


class HttpSettings(BaseSettings):
    model_config = settings_config("HTTP_")

    # Request bodies over this size get a 413 before they are read.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Outgoing calls between services.
    client_timeout_seconds: float = Field(default=5.0, gt=0)
    client_retries: int = Field(default=2, ge=0, le=10)


class ServiceUrls(BaseSettings):
    model_config = settings_config("")

    memory_gateway_url: str = "http://127.0.0.1:8101"
    planner_engine_url: str = "http://127.0.0.1:8102"
    scheduler_engine_url: str = "http://127.0.0.1:8103"
    observer_agent_url: str = "http://127.0.0.1:8104"

    def url_of(self, service_name: str) -> str:
        """The URL of a service by its name ("memory-gateway", ...)."""
        return str(getattr(self, f"{service_name.replace('-', '_')}_url"))


def _listed(value: SecretStr | str | None) -> tuple[str, ...]:
    """A comma-separated setting as its non-empty items, in order."""
    if value is None:
        return ()
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    return tuple(item.strip() for item in text.split(",") if item.strip())


class AccessSettings(BaseSettings):
    model_config = settings_config("PMA_")

    # Bearer tokens, comma-separated: when set, every endpoint but /healthz, /readyz, /metrics and the API
    # docs needs `Authorization: Bearer <one of them>`. Services call each other with the first, so a
    # rotation puts the new token first and keeps the old one second until every caller has moved.
    api_token: SecretStr | None = None
    # Admin tokens, comma-separated: when set, the admin operations (reindex, deleting a user, prompt template
    # versions) need one of them (403 with any other token); they are accepted everywhere else too.
    admin_token: SecretStr | None = None

    @property
    def tokens(self) -> tuple[str, ...]:
        return _listed(self.api_token)

    @property
    def admin_tokens(self) -> tuple[str, ...]:
        return _listed(self.admin_token)

    @property
    def outgoing_token(self) -> str | None:
        return self.tokens[0] if self.tokens else None

    @property
    def operator_token(self) -> str | None:
        """What an operator's command (`pma reindex`) sends: the first admin token, else the first API token."""
        return (self.admin_tokens or self.tokens or (None,))[0]


class CloudflareAccessSettings(BaseSettings):
    model_config = settings_config("CF_ACCESS_")

    # With both set, a request that came through the proxy (it carries X-Forwarded-For) must carry a valid
    # Cf-Access-Jwt-Assertion. The team domain is e.g. "myteam.cloudflareaccess.com".
    team_domain: str | None = None
    # The Access application's AUD tag; several, comma-separated, when more than one application fronts it.
    aud: str | None = None
    # Where the team's signing keys are; None: https://<team_domain>/cdn-cgi/access/certs.
    certs_url: str | None = None
    # The keys are fetched again after this long, or at once (at most every 30 s) for an unknown key id.
    keys_cache_seconds: float = Field(default=3600.0, gt=0)
    timeout_seconds: float = Field(default=3.0, gt=0)
    # Tolerated clock skew when checking `exp` and `nbf`.
    leeway_seconds: float = Field(default=10.0, ge=0, le=300)

    @property
    def audiences(self) -> tuple[str, ...]:
        return _listed(self.aud)

    @property
    def enabled(self) -> bool:
        return bool(self.team_domain) and bool(self.audiences)

    @property
    def issuer(self) -> str:
        return f"https://{self.team_domain}"

    @property
    def keys_url(self) -> str:
        return self.certs_url or f"{self.issuer}/cdn-cgi/access/certs"


class LogSettings(BaseSettings):
    model_config = settings_config("LOG_")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class CoreSettings(BaseSettings):
    """What every service needs; a service's own `Settings` subclasses this and adds its concerns."""

    model_config = settings_config("PMA_")

    service_name: str = "pma"
    environment: Literal["development", "test", "production"] = "development"
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    valkey: ValkeySettings = Field(default_factory=ValkeySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    services: ServiceUrls = Field(default_factory=ServiceUrls)
    log: LogSettings = Field(default_factory=LogSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    cloudflare_access: CloudflareAccessSettings = Field(default_factory=CloudflareAccessSettings)

    @property
    def valkey_prefix(self) -> str:
        return self.valkey.key_prefix or f"pma:{self.service_name}:"
