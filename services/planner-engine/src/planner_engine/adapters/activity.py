"""The one SQL read across users: who did anything in the planner in a window (GET /v1/users/active).

It answers user ids only, never their rows; the system's triggers then read each user's data under that
user's id. Ids are compared and sorted byte-wise (COLLATE "C"), so the order is the same on every
database whatever its collation, and the `after` cursor agrees with it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

# Plans created, tasks created, updated or completed, executions started or finished, in [$1, $2).
_ACTIVE = """
    SELECT user_id FROM (
        SELECT user_id FROM plans WHERE created_at >= $1 AND created_at < $2
        UNION
        SELECT user_id FROM tasks
        WHERE (created_at >= $1 AND created_at < $2) OR (updated_at >= $1 AND updated_at < $2)
           OR (completed_at >= $1 AND completed_at < $2)
        UNION
        SELECT user_id FROM execution_runs
        WHERE (started_at >= $1 AND started_at < $2) OR (finished_at >= $1 AND finished_at < $2)
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
