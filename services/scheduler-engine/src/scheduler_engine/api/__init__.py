"""HTTP routers of the scheduler-engine."""

from fastapi import APIRouter

from pma_core.app.users import USER_DELETION_ROUTE
from scheduler_engine.api import blocks, calendars, oauth, profiles, schedule, users

routers: list[APIRouter] = [
    schedule.router,
    profiles.router,
    calendars.router,
    blocks.router,
    oauth.router,
    users.router,
    users.deletion,
]
# Operator operations: with PMA_ADMIN_TOKEN set they need one of its tokens (docs/api.md, access control).
ADMIN_ROUTES: list[tuple[str, str]] = [USER_DELETION_ROUTE]
