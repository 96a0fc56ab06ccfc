"""The ICS feed of a user's blocks, its subscription URL, and the changes users made on their calendars."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.clock import utc_now
from pma_core.contracts.common import IsoDatetime, UserId
from pma_core.contracts.scheduling import ChangeListRead, ChangeRead
from pma_core.errors import NotFoundError
from scheduler_engine.adapters.ics import render_feed
from scheduler_engine.deps import BlocksDep, FeedsDep, StateDep

router = APIRouter(prefix="/v1", tags=["calendars"])


class FeedRead(BaseModel):
    user_id: str
    url: str


@router.get("/calendars/{user_id}/feed", response_model=FeedRead, summary="the ICS feed's subscription URL")
async def feed_url(user_id: UserId, feeds: FeedsDep, state: StateDep) -> FeedRead:
    """The URL to subscribe to in Google or Apple Calendar; its token is the user's secret (minted once)."""
    token = await feeds.token(user_id)
    base = state.settings.scheduler.public_base_url.rstrip("/")
    return FeedRead(user_id=user_id, url=f"{base}/v1/calendars/{user_id}.ics?token={token}")


@router.get(
    "/calendars/{user_id}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}},
        304: {"description": "Not modified (If-None-Match)"},
        **error_responses(404),
    },
    summary="the user's blocks as an ICS feed",
)
async def ics_feed(
    user_id: UserId,
    token: Annotated[str, Query(min_length=1, max_length=200)],
    feeds: FeedsDep,
    blocks: BlocksDep,
    state: StateDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every planned and done block (UID = block id, SEQUENCE bumped on each move, UTC). A wrong token is
    a 404, as for a user without a feed."""
    if not await feeds.admits(user_id, token):
        raise NotFoundError("no such calendar feed", details={"user_id": user_id})
    refresh = timedelta(minutes=state.settings.scheduler.feed_refresh_minutes)
    body, etag = render_feed(user_id, await blocks.feed(user_id), now=utc_now(), refresh=refresh)
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={int(refresh.total_seconds())}"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.get("/changes", response_model=ChangeListRead, summary="what users did to their blocks (moved, deleted, done)")
async def list_changes(
    user_id: UserQuery,
    blocks: BlocksDep,
    since: Annotated[IsoDatetime | None, Query(description="Changes detected at or after this moment.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ChangeListRead:
    """Oldest first, for the Calendar -> Coda workflow: page on with `since` = the last `detected_at`."""
    rows = await blocks.changes(user_id, since, limit)
    return ChangeListRead(
        changes=[
            ChangeRead(
                id=row["id"],
                block_id=row["block_id"],
                task_id=row["task_id"],
                kind=row["kind"],
                start=row["start_at"],
                end=row["end_at"],
                detected_at=row["detected_at"],
            )
            for row in rows
        ]
    )
