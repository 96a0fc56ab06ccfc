"""HTTP routers of the planner-engine."""

from fastapi import APIRouter

from planner_engine.api import library, plans, tasks, users

routers: list[APIRouter] = [plans.router, tasks.router, library.router, users.router]

# Prompts are shared by every user: changing them is an operator's job once PMA_ADMIN_TOKEN is set.
ADMIN_ROUTES: list[tuple[str, str]] = [
    ("POST", "/v1/prompt-templates/{name}/versions"),
    ("POST", "/v1/prompt-templates/{name}/versions/{version}/activate"),
]
