"""Who was active in a window: `GET /v1/users/active` of the planner-engine and of the scheduler-engine.

The one read that crosses tenants: the system's own triggers (n8n, the observer's daily and weekly runs)
ask it which users have something to reflect on, then read each user's data under that user's id. It is
not meant for end users, and it names users only, never their data.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# A week's reflection, a month's, with room to spare; never a scan of all history.
MAX_ACTIVE_WINDOW_DAYS = 62
MAX_ACTIVE_LIMIT = 1_000
DEFAULT_ACTIVE_LIMIT = 500


class ActiveUsersRead(BaseModel):
    user_ids: list[str] = Field(description="Sorted (byte order); at most `limit`.")
    next_after: str | None = Field(
        description="Send it back as `after` for the next page; None on the last page.",
    )

    @classmethod
    def page(cls, user_ids: list[str], limit: int) -> ActiveUsersRead:
        """A page from up to `limit + 1` sorted ids read: an extra one means there is more after the last."""
        shown = user_ids[:limit]
        return cls(user_ids=shown, next_after=shown[-1] if len(user_ids) > limit else None)
