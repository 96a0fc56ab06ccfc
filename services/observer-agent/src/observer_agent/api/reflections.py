"""Reflections over HTTP: trigger daily and weekly ones (n8n does, on a cron), list and read them, retry
their Coda post, find similar ones, and serve the weekly chart."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from observer_agent.deps import DeliveryDep, ReflectionsDep, ReflectorDep, StateDep
from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.contracts.common import IsoDate, UserId
from pma_core.contracts.reflections import (
    DailyTrigger,
    IsoWeek,
    ReflectionKind,
    ReflectionListRead,
    ReflectionRead,
    ReflectionRunRead,
    ReflectionUserRequest,
    SimilarReflection,
    SimilarReflectionsRead,
    WeeklyTrigger,
)
from pma_core.errors import NotFoundError, ValidationFailedError

router = APIRouter(prefix="/v1/reflections", tags=["reflections"])


# 502: the planner or the scheduler (whose records the reflection is) answered with an error.
@router.post(
    "/daily", response_model=ReflectionRunRead, responses=error_responses(502),
    summary="build (or rebuild) daily reflections",
)  # fmt: skip
async def daily(body: DailyTrigger, reflector: ReflectorDep) -> ReflectionRunRead:
    """For one user, or for every user with activity when `user_id` is omitted; `date` is the user's local
    date (default: their yesterday, or their today with `default_day: "today"`, as the evening cron sends;
    a date after their today, or before 2000-01-01, is a 422). A rerun updates the same reflection; two
    triggers at once produce one. A user with no data gets a reflection that says so."""
    if body.user_id is None:
        return await reflector.for_everyone("daily", day=body.date, week=None, default_day=body.default_day)
    reflection = await reflector.daily(body.user_id, body.date, body.default_day)
    return ReflectionRunRead(reflections=[reflection], failed=[])


@router.post(
    "/weekly", response_model=ReflectionRunRead, responses=error_responses(502),
    summary="build (or rebuild) weekly reflections",
)  # fmt: skip
async def weekly(body: WeeklyTrigger, reflector: ReflectorDep) -> ReflectionRunRead:
    """`week` is an ISO week (YYYY-Www from 2000-W01; default: the week of the user's yesterday; one that has
    not begun for the user is a 422). Also derives the insights (estimate factors per tag, low-output hours)
    and remembers them for the planner."""
    if body.user_id is None:
        return await reflector.for_everyone("weekly", day=None, week=body.week)
    return ReflectionRunRead(reflections=[await reflector.weekly(body.user_id, body.week)], failed=[])


@router.get("", response_model=ReflectionListRead, summary="a user's reflections, newest first")
async def list_reflections(
    user_id: UserQuery,
    reflections: ReflectionsDep,
    from_: Annotated[
        IsoDate | None,
        Query(alias="from", description="Periods ending on or after this date (not after `to`: that is a 422)."),
    ] = None,
    to: Annotated[IsoDate | None, Query(description="Periods starting on or before this date.")] = None,
    kind: ReflectionKind | None = None,
    limit: Annotated[int, Query(ge=1, le=400)] = 100,
) -> ReflectionListRead:
    if from_ is not None and to is not None and from_ > to:
        raise ValidationFailedError(
            "invalid request: query.from: must not be after to",
            details=[{"field": "query.from", "message": "must not be after to", "type": "value_error"}],
        )
    found = await reflections.between(user_id, start=from_, end=to, kind=kind, limit=limit)
    return ReflectionListRead(reflections=found)


# `:uuid`: GET /v1/reflections/daily is a 405 (the triggers take POST), not a 422 on a malformed id.
@router.get(
    "/{reflection_id:uuid}", response_model=ReflectionRead, responses=error_responses(404), summary="one reflection"
)
async def get_reflection(reflection_id: UUID, user_id: UserQuery, reflections: ReflectionsDep) -> ReflectionRead:
    """404 for an unknown id and for another user's reflection alike."""
    return await reflections.get(user_id, reflection_id)


# Only 404: a failed Coda post or index is not an error of this call, `posting` and `indexed` say where it stands.
@router.post(
    "/{reflection_id}/post", response_model=ReflectionRead, responses=error_responses(404),
    summary="post (or finish posting) to Coda",
)  # fmt: skip
async def post_reflection(
    reflection_id: UUID, body: ReflectionUserRequest, reflections: ReflectionsDep, delivery: DeliveryDep,
    state: StateDep,
) -> ReflectionRead:  # fmt: skip
    """Delivers whatever the reflection still owes (Coda row, daily thread, insights) and waits up to
    `OBSERVER_POST_WAIT_SECONDS` for Coda's queue. Safe to repeat: the row is upserted by its key, so it
    is never posted twice. `posting.status` says where it stands (unposted while Coda is not configured)."""
    await reflections.get(body.user_id, reflection_id)
    await delivery.post_now(reflection_id, wait_seconds=state.settings.observer.post_wait_seconds)
    return await reflections.get(body.user_id, reflection_id)


# 404: the reflection (or the gateway's thread of it); 502: the memory-gateway failed.
@router.get(
    "/{reflection_id}/similar", response_model=SimilarReflectionsRead, responses=error_responses(404, 502),
    summary="days like this one",
)  # fmt: skip
async def similar(
    reflection_id: UUID, user_id: UserQuery, reflections: ReflectionsDep, state: StateDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SimilarReflectionsRead:  # fmt: skip
    """The user's reflections most like this one, by the memory-gateway's daily-thread search."""
    reflection = await reflections.get(user_id, reflection_id)
    hits = []
    for kind, period, score in await state.memory.similar(reflection, limit=limit):
        found = await reflections.find(user_id, kind, period)
        if found is not None:
            hits.append(SimilarReflection(reflection=found, score=score))
    return SimilarReflectionsRead(hits=hits)


@router.get(
    "/{user_id}/weekly/{week}/chart.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The chart, as SVG."}, **error_responses(404)},
    summary="the weekly chart: planned vs actual minutes per day",
)
async def chart(
    user_id: Annotated[UserId, Path()], week: Annotated[IsoWeek, Path()], reflections: ReflectionsDep
) -> Response:
    """The chart of the latest build of that week's reflection (needs the bearer token when one is set)."""
    svg = await reflections.chart(user_id, week)
    if svg is None:
        raise NotFoundError(f"no weekly reflection for {week}")
    return _svg(svg)


def _svg(svg: str) -> Response:
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})


charts = APIRouter(prefix="/v1/charts", tags=["reflections"])


@charts.get(
    "/{reflection_id}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The chart, as SVG."}, **error_responses(404)},
    summary="a weekly chart by its link (what the Coda row links to; no token needed)",
)
async def chart_link(reflection_id: Annotated[UUID, Path()], reflections: ReflectionsDep) -> Response:
    """The link a weekly reflection's `chart_url` names: the reflection's id is its secret, so Coda and a
    browser fetch it without PMA_API_TOKEN or a Cloudflare Access assertion; an unknown id is a 404."""
    svg = await reflections.chart_by_id(reflection_id)
    if svg is None:
        raise NotFoundError(f"no weekly chart {reflection_id}")
    return _svg(svg)
