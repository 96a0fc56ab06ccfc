"""Who was active in the planner in a window: for the system's own triggers, across users."""

from __future__ import annotations

from planner_engine.deps import activity_repository
from pma_core.app.activity import active_users_router

router = active_users_router(
    activity_repository,
    activity="any activity: plans created, tasks created, updated or completed, executions started or finished",
)
