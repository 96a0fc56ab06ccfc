"""Who was active in the scheduler in a window: for the system's own triggers, across users."""

from __future__ import annotations

from pma_core.app.activity import active_users_router
from scheduler_engine.deps import activity_repository

router = active_users_router(
    activity_repository, activity="blocks overlapping the window (replaced ones aside) or runs created in it"
)
