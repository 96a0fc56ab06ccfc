"""The one SQL read across users: who had anything in the scheduler in a window (GET /v1/users/active).

It answers user ids only, never their rows. Paging and byte-wise order are core's
(`pma_core.postgres.ActiveUsersQuery`).
"""

from __future__ import annotations

import asyncpg

from pma_core.postgres import ActiveUsersQuery

# Blocks (not the replaced ones: history) overlapping [$1, $2), and runs created in it.
_ACTIVE = """
        SELECT user_id FROM calendar_blocks WHERE status <> 'replaced' AND end_at > $1 AND start_at < $2
        UNION
        SELECT user_id FROM scheduler_runs WHERE created_at >= $1 AND created_at < $2"""


class ActivityRepository(ActiveUsersQuery):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, union=_ACTIVE)
