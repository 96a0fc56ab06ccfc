"""Deleting everything the observer holds for one user."""

from __future__ import annotations

from observer_agent.deps import postgres_pool
from pma_core.app.users import user_deletion_router

# A row already in the user's Coda Daily Thread stays there (it is their doc); what the reflections put
# into the memory-gateway (daily threads, insights) goes with the gateway's own DELETE /v1/users.
router = user_deletion_router(
    postgres_pool,
    tables=("reflections",),
    holds="daily and weekly reflections with their figures, narratives, insights and charts (rows already in"
    " the user's Coda doc stay there)",
)
