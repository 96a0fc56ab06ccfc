"""The one SQL read across users: who had anything in the scheduler in a window (GET /v1/users/active).

It answers user ids only, never their rows. Ids are compared and sorted byte-wise (COLLATE "C"), so the
order is the same on every database whatever its collation, and the `after` cursor agrees with it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

# Blocks (not the replaced ones: history) overlapping [$1, $2), and runs created in it.
_ACTIVE = """
    SELECT user_id FROM (
        SELECT user_id FROM calendar_blocks WHERE status <> 'replaced' AND end_at > $1 AND start_at < $2
        UNION
        SELECT user_id FROM scheduler_runs WHERE created_at >= $1 AND created_at < $2
    ) active
    WHERE $3::text IS NULL OR user_id COLLATE "C" > $3::text COLLATE "C"
    ORDER BY user_id COLLATE "C" LIMIT $4"""


class ActivityRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def active_users(self, since: datetime, until: datetime, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` user ids active in [since, until), after `after`, sorted."""
        rows = await self._pool.fetch(_ACTIVE, since, until, after, limit)
        return [row["user_id"] for row in rows]
