"""HTTP routers of the planner-engine."""

from fastapi import APIRouter

from planner_engine.api import library, plans, tasks, users
from pma_core.app.users import USER_DELETION_ROUTE

routers: list[APIRouter] = [plans.router, tasks.router, library.router, users.router, users.deletion]

# Operator operations once PMA_ADMIN_TOKEN is set: prompts (shared by every user), and deleting a user.
ADMIN_ROUTES: list[tuple[str, str]] = [
    ("POST", "/v1/prompt-templates/{name}/versions"),
    ("POST", "/v1/prompt-templates/{name}/versions/{version}/activate"),
    USER_DELETION_ROUTE,
]
