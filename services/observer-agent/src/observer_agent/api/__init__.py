"""HTTP routers of the observer-agent; its `/v1` operations arrive with its issue."""

from fastapi import APIRouter

routers: list[APIRouter] = []
