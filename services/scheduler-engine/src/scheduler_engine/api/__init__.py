"""HTTP routers of the scheduler-engine."""

from fastapi import APIRouter

from scheduler_engine.api import blocks, calendars, oauth, profiles, schedule, users

routers: list[APIRouter] = [
    schedule.router,
    profiles.router,
    calendars.router,
    blocks.router,
    oauth.router,
    users.router,
]
