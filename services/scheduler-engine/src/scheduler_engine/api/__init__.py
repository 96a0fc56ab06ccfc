"""HTTP routers of the scheduler-engine; its `/v1` operations arrive with its issue."""

from fastapi import APIRouter

routers: list[APIRouter] = []
