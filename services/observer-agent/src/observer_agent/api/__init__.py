"""HTTP routers of the observer-agent."""

from fastapi import APIRouter

from observer_agent.api import reflections

routers: list[APIRouter] = [reflections.router, reflections.charts]
