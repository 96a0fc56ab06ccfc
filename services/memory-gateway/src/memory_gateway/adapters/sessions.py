"""Short-term memory in Valkey: each session is a list of JSON turns, a small hash and an entry in its user's index.

Keys, under the service's cache prefix (user ids and session ids cannot contain braces or slashes):
- `session:{<user_id>}:<session_id>:turns`  list, one JSON turn per element, oldest first (RPUSH);
- `session:{<user_id>}:<session_id>:meta`   hash: `seq` (the last turn number), `ttl` (the session's TTL),
                                             `epoch` (a random id minted when the session starts);
- `sessions:{<user_id>}`                     sorted set: the user's session ids, scored by expiry (epoch s).
The braces make the user id a Valkey hash tag: all of a user's keys hash to one slot, so the scripts
below that touch several keys stay valid on a Valkey Cluster. They also keep keys unambiguous: user
"a:b" with session "c" and user "a" with session "b:c" never share a key.

Every write is one Lua script, so it is atomic: concurrent appends get distinct, ordered sequence
numbers and never lose a turn, and a trim removes turns by sequence number (never a turn appended in
the meantime). Each append refreshes the TTL of the session's keys. Every call goes through
`ValkeyCache.require()`, so a Valkey that is down is a clear 503, not a 500.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import valkey.asyncio as valkey_asyncio
from valkey.exceptions import ConnectionError as ValkeyConnectionError
from valkey.exceptions import TimeoutError as ValkeyTimeoutError

from memory_gateway.domain.models import Appended, NewTurn, SessionSnapshot, Turn
from pma_core.cache import ValkeyCache
from pma_core.errors import UnavailableError

_DOWN_ERRORS = (ValkeyConnectionError, ValkeyTimeoutError, OSError)
UNAVAILABLE_MESSAGE = "short-term memory is unavailable: Valkey does not answer"

# KEYS: turns, meta, index. ARGV: the turn as a JSON object without "seq", the TTL asked for by this
# turn ('' for none), the default TTL, the session id, an epoch for a new session.
# The entry gets its "seq" by splicing it in front of the object's first key: the turn's JSON is never
# re-encoded by Lua (cjson would turn [] into {} and round floats).
_APPEND = """
local ttl = tonumber(ARGV[2])
if not ttl then
  ttl = tonumber(redis.call('HGET', KEYS[2], 'ttl')) or tonumber(ARGV[3])
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('HSETNX', KEYS[2], 'epoch', ARGV[5])
redis.call('HSET', KEYS[2], 'ttl', ttl)
local total = redis.call('RPUSH', KEYS[1], '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
local now = tonumber(redis.call('TIME')[1])
redis.call('ZADD', KEYS[3], now + ttl, ARGV[4])
if redis.call('TTL', KEYS[3]) < ttl then
  redis.call('EXPIRE', KEYS[3], ttl)
end
return {seq, total, redis.call('HGET', KEYS[2], 'epoch')}
"""

# KEYS: turns, meta, index. ARGV: the last sequence number to remove, the session id.
# Pops from the head while the head's seq <= ARGV[1]; a session left empty is removed entirely.
_TRIM = """
local last = tonumber(ARGV[1])
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local seq = tonumber(string.match(head, '^{"seq":(%d+),'))
  if not seq or seq > last then break end
  redis.call('LPOP', KEYS[1])
end
local left = redis.call('LLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return left
"""

# KEYS: index. Drops the ids of sessions whose TTL has passed (their keys expired by themselves).
_LIST = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(redis.call('TIME')[1]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


@dataclass(frozen=True)
class SessionKeys:
    turns: str
    meta: str
    index: str


def session_keys(cache: ValkeyCache, user_id: str, session_id: str) -> SessionKeys:
    """The Valkey keys of one user's session (full names, prefix included)."""
    base = cache.key(f"session:{{{user_id}}}:{session_id}")
    return SessionKeys(turns=f"{base}:turns", meta=f"{base}:meta", index=cache.key(f"sessions:{{{user_id}}}"))


def _encode(turn: NewTurn) -> str:
    body = {"role": turn.role, "content": turn.content, "metadata": turn.metadata, "created_at": turn.created_at}
    return json.dumps(body, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _decode(raw: bytes) -> Turn:
    data = json.loads(raw)
    return Turn(
        seq=int(data["seq"]),
        role=data["role"],
        content=data["content"],
        metadata=data["metadata"],
        created_at=datetime.fromisoformat(data["created_at"]),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SessionStore:
    """A user's sessions in Valkey; see the module docstring for the layout."""

    def __init__(self, cache: ValkeyCache) -> None:
        self.cache = cache

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[valkey_asyncio.Valkey]:
        """The raw client; Valkey down before or during the call is a 503, like `require()` says."""
        client = await self.cache.require()
        try:
            yield client
        except _DOWN_ERRORS as exc:
            raise UnavailableError(UNAVAILABLE_MESSAGE) from exc

    async def append(
        self, user_id: str, session_id: str, turn: NewTurn, *, ttl_seconds: int | None, default_ttl_seconds: int
    ) -> Appended:
        """Append one turn, number it and refresh the session's TTL, atomically."""
        keys = session_keys(self.cache, user_id, session_id)
        ttl = "" if ttl_seconds is None else str(ttl_seconds)
        args = [_encode(turn), ttl, str(default_ttl_seconds), session_id, uuid.uuid4().hex]
        async with self._client() as client:
            seq, total, epoch = await client.register_script(_APPEND)(
                keys=[keys.turns, keys.meta, keys.index], args=args
            )
        stored = Turn(
            seq=int(seq), role=turn.role, content=turn.content, metadata=turn.metadata, created_at=turn.created_at
        )
        return Appended(turn=stored, total=int(total), epoch=_text(epoch))

    async def snapshot(self, user_id: str, session_id: str, *, last: int) -> SessionSnapshot | None:
        """The session's latest `last` turns and its counters; None if it does not exist."""
        keys = session_keys(self.cache, user_id, session_id)
        async with self._client() as client, client.pipeline(transaction=True) as pipe:
            pipe.lrange(keys.turns, -last, -1)
            pipe.llen(keys.turns)
            pipe.ttl(keys.turns)
            pipe.hmget(keys.meta, ["seq", "epoch"])
            raw, total, ttl, (seq, epoch) = await pipe.execute()
        if not total:
            return None
        return SessionSnapshot(
            turns=[_decode(item) for item in raw],
            total=int(total),
            last_seq=int(seq or 0),
            ttl_seconds=max(int(ttl), 0),
            epoch=_text(epoch or b""),
        )

    async def oldest(self, user_id: str, session_id: str, *, count: int) -> list[Turn]:
        """The session's `count` oldest turns, oldest first."""
        keys = session_keys(self.cache, user_id, session_id)
        async with self._client() as client:
            raw: Sequence[bytes] = await client.lrange(keys.turns, 0, count - 1)  # type: ignore[misc]
        return [_decode(item) for item in raw]

    async def head(self, user_id: str, session_id: str, *, count: int) -> tuple[list[Turn], int]:
        """The session's `count` oldest turns, oldest first, and how many turns it holds, read together."""
        keys = session_keys(self.cache, user_id, session_id)
        async with self._client() as client, client.pipeline(transaction=True) as pipe:
            pipe.lrange(keys.turns, 0, count - 1)
            pipe.llen(keys.turns)
            raw, total = await pipe.execute()
        return [_decode(item) for item in raw], int(total)

    async def trim_through(self, user_id: str, session_id: str, last_seq: int) -> int:
        """Remove the oldest turns up to `last_seq` (a session left empty goes); returns the turns left."""
        keys = session_keys(self.cache, user_id, session_id)
        async with self._client() as client:
            left = await client.register_script(_TRIM)(
                keys=[keys.turns, keys.meta, keys.index], args=[str(last_seq), session_id]
            )
        return int(left)

    async def delete(self, user_id: str, session_id: str) -> bool:
        """Remove the session; False when it did not exist."""
        keys = session_keys(self.cache, user_id, session_id)
        async with self._client() as client, client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.turns, keys.meta)
            pipe.zrem(keys.index, session_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def session_ids(self, user_id: str) -> list[str]:
        """The user's live sessions, sorted."""
        index = session_keys(self.cache, user_id, "-").index
        async with self._client() as client:
            raw = await client.register_script(_LIST)(keys=[index])
        return sorted(_text(item) for item in raw)
