"""Connecting a user's Google Calendar: the OAuth 2.0 web flow (consent with offline access and PKCE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from pma_core.app.params import UserQuery
from pma_core.contracts.common import UserId
from pma_core.errors import NotFoundError, ValidationFailedError
from scheduler_engine.deps import StateDep

router = APIRouter(prefix="/v1/oauth/google", tags=["google"])


class ConsentRead(BaseModel):
    url: str


class ConnectedRead(BaseModel):
    user_id: str
    connected: bool


@router.get(
    "/start",
    response_model=ConsentRead,
    responses={307: {"description": "Redirect to Google's consent screen"}},
    summary="start connecting a user's Google Calendar",
)
async def start(
    user_id: UserQuery, state: StateDep, redirect: Annotated[bool, Query(description="307 to Google")] = True
) -> Response | ConsentRead:
    """Sends the browser to Google's consent screen (or, with `redirect=false`, answers its URL); Google
    comes back to `/v1/oauth/google/callback`. The state is single-use and expires in 10 minutes."""
    url = await state.consent().start(user_id)
    return RedirectResponse(url, status_code=307) if redirect else ConsentRead(url=url)


@router.get("/callback", response_model=ConnectedRead, summary="Google's redirect after consent")
async def callback(
    state: StateDep,
    oauth_state: Annotated[str | None, Query(alias="state", max_length=200)] = None,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> ConnectedRead:
    """Stores the grant (encrypted) for the user who started the flow; from then on their blocks go to
    their Google calendar. A refused consent (`error`) or a missing, used or expired state is a 422."""
    if error is not None:
        raise ValidationFailedError(f"Google consent was not given ({error}); start again to connect")
    if not oauth_state or not code:
        raise ValidationFailedError("invalid request: query: Google's redirect carries `state` and `code`")
    user_id = await state.consent().finish(oauth_state, code)
    return ConnectedRead(user_id=user_id, connected=True)


@router.delete("/{user_id}", status_code=204, summary="disconnect a user's Google Calendar")
async def disconnect(user_id: UserId, state: StateDep) -> Response:
    """Forgets the stored grant (the events stay on their calendar); 404 when none is stored."""
    if state.accounts is None or not await state.accounts.forget(user_id):
        raise NotFoundError(f"no Google calendar is connected for user {user_id!r}", details={"user_id": user_id})
    return Response(status_code=204)
