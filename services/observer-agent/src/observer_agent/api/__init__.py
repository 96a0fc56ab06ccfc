"""HTTP routers of the observer-agent."""

from fastapi import APIRouter

from observer_agent.api import reflections, users
from pma_core.app.users import USER_DELETION_ROUTE

routers: list[APIRouter] = [reflections.router, reflections.charts, users.router]
# Operator operations: with PMA_ADMIN_TOKEN set they need one of its tokens (docs/api.md, access control).
ADMIN_ROUTES: list[tuple[str, str]] = [USER_DELETION_ROUTE]
