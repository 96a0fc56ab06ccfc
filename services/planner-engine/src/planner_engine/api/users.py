"""Users in the planner: who was active in a window (for the system's own triggers, across users), and
deleting everything of one user."""

from __future__ import annotations

from planner_engine.deps import activity_repository, postgres_pool
from pma_core.app.activity import active_users_router
from pma_core.app.users import user_deletion_router

router = active_users_router(
    activity_repository,
    activity="any activity: plans created, tasks created, updated or completed, executions started or finished",
)
# Children before parents (tasks cascade from plans; listed for the counts). Prompt templates are not a
# user's: they are shared by every user and changed by the operator.
deletion = user_deletion_router(
    postgres_pool,
    tables=("execution_runs", "tasks", "sops", "plans"),
    holds="plans, their tasks (imported ones too), the SOP library and every recorded execution",
)
