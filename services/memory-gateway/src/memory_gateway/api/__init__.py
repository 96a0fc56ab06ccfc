"""HTTP routers of the memory-gateway; the memory operations (`/v1/...`) arrive with their issue."""

from fastapi import APIRouter

routers: list[APIRouter] = []
