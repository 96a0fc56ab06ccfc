"""Connecting a user's Google Calendar: the OAuth 2.0 web flow (consent with offline access and PKCE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
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
    responses={307: {"description": "Redirect to Google's consent screen"}, **error_responses(409)},
    summary="start connecting a user's Google Calendar",
)
async def start(
    user_id: UserQuery, state: StateDep, redirect: Annotated[bool, Query(description="307 to Google")] = True
) -> Response | ConsentRead:
    """Sends the browser to Google's consent screen (or, with `redirect=false`, answers its URL); Google
    comes back to `/v1/oauth/google/callback`. The state is single-use and expires in 10 minutes. 409
    (`google_not_configured`) when this deployment has no Google client (GOOGLE_CLIENT_ID, GOOGLE_TOKEN_KEY)."""
    url = await state.consent().start(user_id)
    return RedirectResponse(url, status_code=307) if redirect else ConsentRead(url=url)


@router.get(
    "/callback",
    response_model=ConnectedRead,
    responses=error_responses(409, 502),
    summary="Google's redirect after consent",
)
async def callback(
    state: StateDep,
    oauth_state: Annotated[
        str, Query(alias="state", min_length=1, max_length=200, description="The state `/start` issued.")
    ],
    code: Annotated[
        str | None, Query(min_length=1, max_length=2000, description="Google's code; required unless `error`.")
    ] = None,
    error: Annotated[str | None, Query(max_length=200, description="Google's reason for a refused consent.")] = None,
) -> ConnectedRead:
    """Stores the grant (encrypted) for the user who started the flow; from then on their blocks go to
    their Google calendar. Google's redirect carries `state` and either `code` or `error`. A refused consent
    (`error`), a redirect with neither, or a state not issued by `/start`, used or expired is a 422; 409 when
    Google is not configured here, 502 when Google's token endpoint refuses the code or does not answer."""
    if error is not None:
        raise ValidationFailedError(f"Google consent was not given ({error}); start again to connect")
    if code is None:
        raise ValidationFailedError(
            "invalid request: query.code: Google's redirect carries `code` (or `error`)",
            details=[{"field": "query.code", "message": "required unless `error` is given", "type": "missing"}],
        )
    user_id = await state.consent().finish(oauth_state, code)
    return ConnectedRead(user_id=user_id, connected=True)


# Under `connections/`, not `/{user_id}` beside `/start` and `/callback`: there, DELETE /v1/oauth/google/start
# would disconnect a user named "start", a URL the OpenAPI (concrete paths first) says takes no DELETE.
@router.delete(
    "/connections/{user_id}",
    status_code=204,
    responses=error_responses(404),
    summary="disconnect a user's Google Calendar",
)
async def disconnect(user_id: UserId, state: StateDep) -> Response:
    """Forgets the stored grant (the events stay on their calendar); 404 when none is stored."""
    if state.accounts is None or not await state.accounts.forget(user_id):
        raise NotFoundError(f"no Google calendar is connected for user {user_id!r}", details={"user_id": user_id})
    return Response(status_code=204)
