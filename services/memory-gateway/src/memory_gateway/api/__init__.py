"""HTTP routers of the memory-gateway (`/v1/...`)."""

from fastapi import APIRouter

from memory_gateway.api.admin import router as admin_router
from memory_gateway.api.daily_threads import router as daily_threads_router
from memory_gateway.api.documents import router as documents_router
from memory_gateway.api.events import router as events_router
from memory_gateway.api.graph import router as graph_router
from memory_gateway.api.memories import router as memories_router
from memory_gateway.api.sessions import router as sessions_router
from memory_gateway.api.users import router as users_router

routers: list[APIRouter] = [
    admin_router,
    users_router,
    memories_router,
    events_router,
    documents_router,
    sessions_router,
    graph_router,
    daily_threads_router,
]

# Operator operations: with PMA_ADMIN_TOKEN set they need one of its tokens (docs/api.md, access control).
ADMIN_ROUTES: list[tuple[str, str]] = [("*", "/v1/admin/reindex"), ("DELETE", "/v1/users/{user_id}")]
