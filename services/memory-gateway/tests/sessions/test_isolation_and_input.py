"""One user never reaches another's session; bad input is a 422 that names the field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import valkey.asyncio as valkey_asyncio

from memory_gateway.adapters.sessions import SessionKeys
from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.sessions import MAX_TURN_CHARS, TurnCreate

KeysOf = Callable[[str, str], SessionKeys]


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        yield client


async def test_bob_cannot_read_list_delete_or_flush_alices_session(memory: MemoryGatewayClient) -> None:
    await memory.append_turn("s1", TurnCreate(user_id="alice", role="user", content="Alice's secret plan."))

    for call in (
        memory.read_turns("bob", "s1"),
        memory.delete_session("bob", "s1"),
        memory.flush_session("bob", "s1"),
    ):
        with pytest.raises(RemoteServiceError) as caught:
            await call
        assert caught.value.status_code == 404
    assert await memory.list_sessions("bob") == []

    # The same id under bob is bob's own session, numbered from 1.
    bobs = await memory.append_turn("s1", TurnCreate(user_id="bob", role="user", content="Bob's turn."))
    assert bobs.turn.seq == 1
    assert [t.content for t in (await memory.read_turns("bob", "s1")).turns] == ["Bob's turn."]
    assert [t.content for t in (await memory.read_turns("alice", "s1")).turns] == ["Alice's secret plan."]


async def test_user_and_session_ids_with_colons_never_share_keys(
    memory: MemoryGatewayClient, keys_of: KeysOf, raw_valkey: valkey_asyncio.Valkey
) -> None:
    # "a:b" + "c" and "a" + "b:c" would both be "session:a:b:c" without the braces around the user id.
    await memory.append_turn("c", TurnCreate(user_id="a:b", role="user", content="from a:b"))
    await memory.append_turn("b:c", TurnCreate(user_id="a", role="user", content="from a"))
    assert keys_of("a:b", "c").turns != keys_of("a", "b:c").turns
    assert [t.content for t in (await memory.read_turns("a:b", "c")).turns] == ["from a:b"]
    assert [t.content for t in (await memory.read_turns("a", "b:c")).turns] == ["from a"]
    assert await memory.list_sessions("a") == ["b:c"]
    assert await raw_valkey.llen(keys_of("a", "b:c").turns) == 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "u1", "role": "user", "content": ""}, "body.content"),
        ({"user_id": "u1", "role": "user", "content": " \n\t "}, "body.content"),
        ({"user_id": "u1", "role": "user", "content": "x" * (MAX_TURN_CHARS + 1)}, "body.content"),
        ({"user_id": "u1", "role": "robot", "content": "hi"}, "body.role"),
        ({"user_id": "u 1", "role": "user", "content": "hi"}, "body.user_id"),
        ({"user_id": "u1", "role": "user", "content": "hi", "ttl_seconds": 59}, "body.ttl_seconds"),
        ({"user_id": "u1", "role": "user", "content": "hi", "ttl_seconds": 31 * 86_400}, "body.ttl_seconds"),
        (
            {"user_id": "u1", "role": "user", "content": "hi", "metadata": {str(n): n for n in range(51)}},
            "body.metadata",
        ),
        ({"user_id": "u1", "role": "user", "content": "hi", "colour": "red"}, "body.colour"),
    ],
)
async def test_invalid_turns_are_422_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await http.post("/v1/sessions/s1/turns", json=body)
    _assert_422(response, field)


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/v1/sessions/bad%20id/turns", "path.session_id"),
        ("POST", f"/v1/sessions/{'s' * 129}/turns", "path.session_id"),
        ("GET", "/v1/sessions/bad!id/turns?user_id=u1", "path.session_id"),
        ("DELETE", "/v1/sessions/bad!id?user_id=u1", "path.session_id"),
        ("POST", "/v1/sessions/bad!id/flush?user_id=u1", "path.session_id"),
        ("GET", "/v1/sessions/s1/turns?user_id=u1&last=201", "query.last"),
        ("GET", "/v1/sessions/s1/turns?user_id=u1&last=0", "query.last"),
        ("GET", "/v1/sessions/s1/turns", "query.user_id"),
        ("GET", "/v1/sessions", "query.user_id"),
    ],
)
async def test_invalid_ids_and_queries_are_422_naming_the_field(
    http: httpx.AsyncClient, method: str, path: str, field: str
) -> None:
    body = {"user_id": "u1", "role": "user", "content": "hi"} if method == "POST" and path.endswith("/turns") else None
    response = await http.request(method, path, json=body)
    _assert_422(response, field)


def _assert_422(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["field"] == field for d in error["details"]), error
    assert field in error["message"]


@pytest.mark.parametrize("session_id", [".", "..", "..."])
def test_a_session_id_of_only_dots_is_refused(session_id: str) -> None:
    # HTTP clients resolve "." and ".." path segments, so such an id could reach another route.
    from pydantic import TypeAdapter, ValidationError

    from pma_core.contracts.sessions import SessionId

    with pytest.raises(ValidationError):
        TypeAdapter(SessionId).validate_python(session_id)
    assert TypeAdapter(SessionId).validate_python("chat.2026-11-24") == "chat.2026-11-24"
