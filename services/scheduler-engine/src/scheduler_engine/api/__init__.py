"""HTTP routers of the scheduler-engine."""

from fastapi import APIRouter

from scheduler_engine.api import calendars, oauth, profiles, schedule

routers: list[APIRouter] = [schedule.router, profiles.router, calendars.router, oauth.router]
