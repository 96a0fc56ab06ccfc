"""Users in the scheduler: who was active in a window (for the system's own triggers, across users), and
deleting everything of one user."""

from __future__ import annotations

from pma_core.app.activity import active_users_router
from pma_core.app.users import user_deletion_router
from scheduler_engine.deps import activity_repository, postgres_pool

router = active_users_router(
    activity_repository, activity="blocks overlapping the window (replaced ones aside) or runs created in it"
)
# Children before parents: blocks point at their runs. Events already on the user's Google calendar stay
# there (deleting them would need the user's grant, deleted here too).
deletion = user_deletion_router(
    postgres_pool,
    tables=(
        "calendar_blocks", "calendar_changes", "calendar_sync_state", "calendar_feeds", "google_credentials",
        "google_oauth_states", "scheduling_profiles", "scheduler_runs",
    ),
    holds="runs, calendar blocks and their change feed, the ICS feed token, the profile, the Google grant"
    " (events already on the user's Google calendar stay there)",
)  # fmt: skip
