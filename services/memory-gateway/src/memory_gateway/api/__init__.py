"""HTTP routers of the memory-gateway (`/v1/...`)."""

from fastapi import APIRouter

from memory_gateway.api.memories import router as memories_router

routers: list[APIRouter] = [memories_router]
