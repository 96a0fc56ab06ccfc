"""Google OAuth 2.0: users' refresh tokens encrypted at rest, the web consent flow (PKCE, single-use state),
and the `Credentials` each user's calendar calls run with.

No token ever appears in a log, an error message or a response: errors name the user and what to do.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

import asyncpg
import httpx
from cryptography.fernet import Fernet, InvalidToken
from google.oauth2.credentials import Credentials

from pma_core.clock import utc_now
from pma_core.errors import ConflictError, NotFoundError, UpstreamError, ValidationFailedError
from scheduler_engine.settings import GoogleSettings

SCOPES = ("https://www.googleapis.com/auth/calendar",)
STATE_LIFETIME = timedelta(minutes=10)


class GoogleAccounts:
    """Who has a Google calendar, and their credentials (one object per user: google-auth refreshes its
    access token in place)."""

    def __init__(self, pool: asyncpg.Pool, settings: GoogleSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._fernet = Fernet(settings.token_key.get_secret_value()) if settings.token_key else None
        self._cache: dict[str, Credentials] = {}

    async def connected(self, user_id: str) -> bool:
        if self._from_environment(user_id):
            return True
        if self._fernet is None:
            return False
        found = await self._pool.fetchval("SELECT 1 FROM google_credentials WHERE user_id = $1", user_id)
        return found is not None

    def _from_environment(self, user_id: str) -> bool:
        return self._settings.refresh_token is not None and user_id == self._settings.user_id

    async def credentials(self, user_id: str) -> Credentials:
        if user_id not in self._cache:
            self._cache[user_id] = self._credentials(await self._refresh_token(user_id))
        return self._cache[user_id]

    async def _refresh_token(self, user_id: str) -> str:
        if self._from_environment(user_id):
            assert self._settings.refresh_token is not None
            return self._settings.refresh_token.get_secret_value()
        stored = None
        if self._fernet is not None:
            stored = await self._pool.fetchval(
                "SELECT refresh_token FROM google_credentials WHERE user_id = $1", user_id
            )
        if stored is None or self._fernet is None:
            raise NotFoundError(f"no Google calendar is connected for user {user_id!r}", details={"user_id": user_id})
        try:
            return self._fernet.decrypt(bytes(stored)).decode()
        except InvalidToken:
            raise UpstreamError(
                f"the stored Google grant of {user_id!r} cannot be decrypted with GOOGLE_TOKEN_KEY; re-authorise"
            ) from None

    def _credentials(self, refresh_token: str) -> Credentials:
        secret = self._settings.client_secret.get_secret_value() if self._settings.client_secret else None
        return Credentials(  # type: ignore[no-untyped-call]
            token=None, refresh_token=refresh_token, token_uri=self._settings.token_uri,
            client_id=self._settings.client_id, client_secret=secret, scopes=list(SCOPES),
        )  # fmt: skip

    async def store(self, user_id: str, refresh_token: str) -> None:
        if self._fernet is None:
            raise ConflictError(
                "GOOGLE_TOKEN_KEY is not set: grants cannot be stored encrypted", code="google_not_configured"
            )
        await self._pool.execute(
            """INSERT INTO google_credentials (user_id, refresh_token, scopes) VALUES ($1, $2, $3)
               ON CONFLICT (user_id) DO UPDATE SET refresh_token = EXCLUDED.refresh_token,
                   scopes = EXCLUDED.scopes, updated_at = now()""",
            user_id, self._fernet.encrypt(refresh_token.encode()), list(SCOPES),
        )  # fmt: skip
        self._cache.pop(user_id, None)

    async def users(self) -> list[str]:
        """Everyone with a Google calendar connected."""
        stored = [row["user_id"] for row in await self._pool.fetch("SELECT user_id FROM google_credentials")]
        from_environment = [self._settings.user_id] if self._settings.refresh_token and self._settings.user_id else []
        return sorted(set(stored + from_environment))

    async def forget(self, user_id: str) -> bool:
        self._cache.pop(user_id, None)
        deleted = await self._pool.fetchval("DELETE FROM google_credentials WHERE user_id = $1 RETURNING true", user_id)
        return bool(deleted)


def google_not_configured() -> ConflictError:
    """The flow cannot start on this deployment: a state of the service's configuration, not bad input (409)."""
    return ConflictError(
        "Google is not configured on this scheduler: set GOOGLE_CLIENT_ID and GOOGLE_TOKEN_KEY",
        code="google_not_configured",
    )


class ConsentFlow:
    """The web flow: `start` gives the consent URL (offline access, PKCE S256, a single-use state kept
    server-side); `finish` takes Google's redirect, exchanges the code and stores the grant."""

    def __init__(self, pool: asyncpg.Pool, settings: GoogleSettings, accounts: GoogleAccounts) -> None:
        self._pool = pool
        self._settings = settings
        self._accounts = accounts

    async def start(self, user_id: str) -> str:
        if not self._settings.client_id or not self._settings.token_key:
            raise google_not_configured()
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        await self._pool.execute(
            "INSERT INTO google_oauth_states (state, user_id, code_verifier, redirect_uri, expires_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            state, user_id, verifier, self._settings.redirect_uri, utc_now() + STATE_LIFETIME,
        )  # fmt: skip
        return consent_url(self._settings, redirect_uri=self._settings.redirect_uri, state=state, challenge=challenge)

    async def finish(self, state: str, code: str) -> str:
        """The user the grant was stored for; a state seen before, expired or unknown is a 422."""
        row = await self._pool.fetchrow(
            "DELETE FROM google_oauth_states WHERE state = $1"
            " RETURNING user_id, code_verifier, redirect_uri, expires_at",
            state,
        )
        if row is None or row["expires_at"] < utc_now():
            raise ValidationFailedError(
                "invalid request: query.state: unknown, used or expired; start again at /v1/oauth/google/start",
                details=[{"field": "query.state", "message": "unknown, used or expired", "type": "oauth_state"}],
            )
        refresh_token = await exchange_code(self._settings, code, row["code_verifier"], row["redirect_uri"])
        await self._accounts.store(row["user_id"], refresh_token)
        user_id: str = row["user_id"]
        return user_id


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def consent_url(settings: GoogleSettings, *, redirect_uri: str, state: str, challenge: str) -> str:
    """Google's consent page for the calendar scope: offline access (a refresh token), PKCE S256."""
    query = {
        "client_id": settings.client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": " ".join(SCOPES), "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true",
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    return f"{settings.auth_uri}?{urlencode(query)}"


async def exchange_code(settings: GoogleSettings, code: str, verifier: str, redirect_uri: str) -> str:
    """The refresh token Google grants for an authorisation code (UpstreamError when it refuses)."""
    secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
    form = {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": redirect_uri, "client_id": settings.client_id or "", "client_secret": secret,
    }  # fmt: skip
    async with httpx.AsyncClient(timeout=15.0) as http:
        try:
            response = await http.post(settings.token_uri, data=form)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Google's token endpoint did not answer: {type(exc).__name__}") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "refresh_token" not in body:
        reason = body.get("error", f"HTTP {response.status_code}")
        raise UpstreamError(f"Google refused the authorisation code ({reason}); start again")
    token: str = body["refresh_token"]
    return token
