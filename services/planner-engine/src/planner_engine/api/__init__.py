"""HTTP routers of the planner-engine."""

from fastapi import APIRouter

from planner_engine.api import library, plans, tasks, users

routers: list[APIRouter] = [plans.router, tasks.router, library.router, users.router]
