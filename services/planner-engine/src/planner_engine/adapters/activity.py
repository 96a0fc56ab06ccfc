"""The one SQL read across users: who did anything in the planner in a window (GET /v1/users/active).

It answers user ids only, never their rows; the system's triggers then read each user's data under that
user's id. Paging and byte-wise order are core's (`pma_core.postgres.ActiveUsersQuery`).
"""

from __future__ import annotations

import asyncpg

from pma_core.postgres import ActiveUsersQuery

# Plans created, tasks created, updated or completed, executions started or finished, in [$1, $2).
_ACTIVE = """
        SELECT user_id FROM plans WHERE created_at >= $1 AND created_at < $2
        UNION
        SELECT user_id FROM tasks
        WHERE (created_at >= $1 AND created_at < $2) OR (updated_at >= $1 AND updated_at < $2)
           OR (completed_at >= $1 AND completed_at < $2)
        UNION
        SELECT user_id FROM execution_runs
        WHERE (started_at >= $1 AND started_at < $2) OR (finished_at >= $1 AND finished_at < $2)"""


class ActivityRepository(ActiveUsersQuery):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, union=_ACTIVE)
