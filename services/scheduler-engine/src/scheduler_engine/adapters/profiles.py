"""All SQL of scheduling_profiles, calendar_feeds and calendar_sync_state."""

from __future__ import annotations

import secrets
from datetime import datetime

import asyncpg

from pma_core.contracts.scheduling import ProfileRead, SchedulingProfile
from scheduler_engine.domain.models import Profile
from scheduler_engine.domain.profiles import domain_profile


class ProfileRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def read(self, user_id: str) -> ProfileRead:
        row = await self._pool.fetchrow(
            "SELECT profile, updated_at FROM scheduling_profiles WHERE user_id = $1", user_id
        )
        stored = SchedulingProfile.model_validate(row["profile"]) if row else SchedulingProfile()
        return ProfileRead(**stored.model_dump(), user_id=user_id, updated_at=row["updated_at"] if row else None)

    async def put(self, user_id: str, profile: SchedulingProfile) -> ProfileRead:
        await self._pool.execute(
            """INSERT INTO scheduling_profiles (user_id, profile) VALUES ($1, $2)
               ON CONFLICT (user_id) DO UPDATE SET profile = EXCLUDED.profile""",
            user_id,
            profile.model_dump(mode="json"),
        )
        return await self.read(user_id)

    async def get(self, user_id: str) -> Profile:
        return domain_profile(user_id, await self.read(user_id))


class FeedRepository:
    """The ICS feed's per-user token: minted once, compared in constant time."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def token(self, user_id: str) -> str:
        await self._pool.execute(
            "INSERT INTO calendar_feeds (user_id, token) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
            user_id,
            secrets.token_urlsafe(32),
        )
        token: str = await self._pool.fetchval("SELECT token FROM calendar_feeds WHERE user_id = $1", user_id)
        return token

    async def admits(self, user_id: str, token: str) -> bool:
        """Whether `token` is the user's; any string may come in, so the bytes are compared
        (`compare_digest` refuses str with non-ASCII characters)."""
        stored = await self._pool.fetchval("SELECT token FROM calendar_feeds WHERE user_id = $1", user_id)
        return stored is not None and secrets.compare_digest(stored.encode(), token.encode(errors="surrogatepass"))


class SyncStateRepository:
    """Where each user's incremental calendar read stands, a pause after Google's quota ran out, and the
    sweep's claim on reading it (`pull_claimed_until`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def cursor(self, user_id: str) -> tuple[str | None, datetime | None]:
        row = await self._pool.fetchrow(
            "SELECT cursor, paused_until FROM calendar_sync_state WHERE user_id = $1", user_id
        )
        return (row["cursor"], row["paused_until"]) if row else (None, None)

    async def save(self, user_id: str, *, cursor: str | None, paused_until: datetime | None, error: str | None) -> None:
        await self._pool.execute(
            """INSERT INTO calendar_sync_state (user_id, cursor, paused_until, last_error) VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id) DO UPDATE SET cursor = coalesce(EXCLUDED.cursor, calendar_sync_state.cursor),
                   paused_until = EXCLUDED.paused_until, last_error = EXCLUDED.last_error, updated_at = now()""",
            user_id,
            cursor,
            paused_until,
            error,
        )

    async def claim_pull(self, user_id: str, *, lease_seconds: float) -> bool:
        # One statement: of two replicas' sweeps (a first read inserts the row), one gets the user.
        claimed = await self._pool.fetchval(
            """INSERT INTO calendar_sync_state (user_id, pull_claimed_until)
               VALUES ($1, now() + make_interval(secs => $2))
               ON CONFLICT (user_id) DO UPDATE SET pull_claimed_until = EXCLUDED.pull_claimed_until
               WHERE calendar_sync_state.pull_claimed_until IS NULL OR calendar_sync_state.pull_claimed_until < now()
               RETURNING user_id""",
            user_id,
            lease_seconds,
        )
        return claimed is not None

    async def release_pull(self, user_id: str, *, hold_seconds: float) -> None:
        await self._pool.execute(
            "UPDATE calendar_sync_state SET pull_claimed_until = now() + make_interval(secs => $2) WHERE user_id = $1",
            user_id,
            hold_seconds,
        )
