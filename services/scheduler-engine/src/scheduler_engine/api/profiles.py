"""Scheduling profiles over HTTP: working hours, time zone, buffers, chunks, caps, freeze horizon."""

from __future__ import annotations

from fastapi import APIRouter

from pma_core.contracts.common import UserId
from pma_core.contracts.scheduling import ProfileRead, SchedulingProfile
from scheduler_engine.deps import ProfilesDep
from scheduler_engine.domain.profiles import checked_profile

router = APIRouter(prefix="/v1", tags=["profiles"])


@router.get("/profiles/{user_id}", response_model=ProfileRead, summary="a user's scheduling profile")
async def get_profile(user_id: UserId, profiles: ProfilesDep) -> ProfileRead:
    """The defaults (09:00-17:00 Monday to Friday, UTC, lunch 12-13) until the user sets one."""
    return await profiles.read(user_id)


@router.put("/profiles/{user_id}", response_model=ProfileRead, summary="set a user's scheduling profile")
async def put_profile(user_id: UserId, body: SchedulingProfile, profiles: ProfilesDep) -> ProfileRead:
    """Replaces the whole profile (fields left out take their defaults); the next run uses it."""
    return await profiles.put(user_id, checked_profile(body))
