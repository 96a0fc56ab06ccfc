"""Short-term memory over HTTP: a session's turns (append, read the latest), list, delete, flush.

Every call answers 503 "short-term memory is unavailable" while Valkey is down; long-term memory keeps
working. A session belongs to one user: another user's session of the same id is a different session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from memory_gateway.deps import SessionsDep
from memory_gateway.domain.models import NewTurn, Turn
from memory_gateway.domain.sessions import MovedChunk
from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.contracts.sessions import (
    DEFAULT_LAST_TURNS,
    MAX_LAST_TURNS,
    MAX_SESSION_ID_CHARS,
    SESSION_ID_PATTERN,
    AppendRead,
    FlushRead,
    OverflowRead,
    SessionListRead,
    SessionRead,
    TurnCreate,
    TurnRead,
)

router = APIRouter(prefix="/v1", tags=["sessions"])
SessionPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_SESSION_ID_CHARS,
        pattern=SESSION_ID_PATTERN,
        description="The conversation's id, chosen by the caller: 1-128 characters of A-Z a-z 0-9 _ . : -, not"
        " only dots",
    ),
]
LastQuery = Annotated[int, Query(ge=1, le=MAX_LAST_TURNS, description="How many of the latest turns to return.")]


def _turn(turn: Turn) -> TurnRead:
    return TurnRead.model_validate(turn, from_attributes=True)


def _moved(chunks: list[MovedChunk]) -> list[OverflowRead]:
    return [OverflowRead.model_validate(chunk, from_attributes=True) for chunk in chunks]


@router.post(
    "/sessions/{session_id}/turns",
    response_model=AppendRead,
    status_code=status.HTTP_201_CREATED,
    summary="append a turn to a session (older turns overflow into long-term memory)",
)
async def append_turn(session_id: SessionPath, body: TurnCreate, sessions: SessionsDep) -> AppendRead:
    turn = NewTurn(role=body.role, content=body.content, metadata=body.metadata)
    result = await sessions.append(body.user_id, session_id, turn, ttl_seconds=body.ttl_seconds)
    return AppendRead(
        turn=_turn(result.turn),
        turns_kept=result.kept,
        moved_to_long_term=_moved(result.moved),
        overflow_pending=result.pending,
    )


@router.get(
    "/sessions/{session_id}/turns",
    response_model=SessionRead,
    responses=error_responses(404),
    summary="a session's latest turns",
)
async def read_turns(
    session_id: SessionPath, user_id: UserQuery, sessions: SessionsDep, last: LastQuery = DEFAULT_LAST_TURNS
) -> SessionRead:
    snapshot = await sessions.read(user_id, session_id, last=last)
    return SessionRead(
        session_id=session_id,
        user_id=user_id,
        turns=[_turn(t) for t in snapshot.turns],
        total_turns=snapshot.total,
        last_seq=snapshot.last_seq,
        ttl_seconds=snapshot.ttl_seconds,
    )


@router.get("/sessions", response_model=SessionListRead, summary="a user's live sessions")
async def list_sessions(user_id: UserQuery, sessions: SessionsDep) -> SessionListRead:
    return SessionListRead(user_id=user_id, session_ids=await sessions.session_ids(user_id))


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    responses=error_responses(404),
    summary="drop a session (nothing is summarised)",
)
async def delete_session(session_id: SessionPath, user_id: UserQuery, sessions: SessionsDep) -> Response:
    await sessions.delete(user_id, session_id)
    return Response(status_code=204)


@router.post(
    "/sessions/{session_id}/flush",
    response_model=FlushRead,
    responses=error_responses(404),
    summary="summarise the whole session into long-term memory now, and clear it",
)
async def flush_session(session_id: SessionPath, user_id: UserQuery, sessions: SessionsDep) -> FlushRead:
    result = await sessions.flush(user_id, session_id)
    return FlushRead(
        session_id=session_id,
        moved_to_long_term=_moved(result.moved),
        turns_flushed=result.flushed,
        session_cleared=result.cleared,
    )
