"""Short-term memory: a session's latest turns in Valkey, and where the older ones go.

A session keeps its turns in Valkey (adapters/sessions.py) and lives `MEMORY_SESSION_TTL_SECONDS` after
its last turn. It holds about `MEMORY_SESSION_MAX_TURNS` turns; older ones move to long-term memory:

- Overflow moves whole chunks of `overflow_chunk(max_turns)` turns (max(2, max_turns // 5)): once the
  session holds a chunk more than the maximum, its oldest chunk becomes ONE summary memory and the
  session is back to the maximum. Between moves it holds up to max + chunk - 1 turns. Chunks, because
  one memory per turn would flood long-term memory with one-line summaries.
- Order, so nothing is lost: the summary is written to long-term memory FIRST (kind "summary", source
  "session:<id>", metadata: session id and turn range), THEN the turns are trimmed from Valkey, by
  sequence number. When remember fails, the turns stay and the next append retries them.
- A retried chunk never stores twice: its idempotency key is (session id, session epoch, first seq,
  last seq), and chunks are always cut from the head, so a retry cuts the same chunk and remember
  replays the first memory. The epoch (minted when a session starts) keeps a deleted, expired or
  flushed session's numbers from colliding with a new session of the same id.
- Flush moves everything there is now, in the same chunks, and removes the session.

The summary text comes from a `Summariser`. The default, `FirstSentenceSummariser`, is offline and
deterministic; an LLM summariser can implement the same protocol.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from memory_gateway.domain.models import NewMemory, NewTurn, SessionSnapshot, Turn
from memory_gateway.domain.ports import Rememberer, SessionStore, Summariser
from pma_core.contracts.memory import MAX_MEMORY_CHARS
from pma_core.errors import NotFoundError

_log = logging.getLogger(__name__)
NUL = "\x00"
# One append moves at most this many chunks, so a backlog left by a long long-term-memory outage drains
# over a few appends instead of making one request slow.
MAX_CHUNKS_PER_APPEND = 5


@dataclass(frozen=True)
class MovedChunk:
    """Turns that became one summary memory."""

    memory_id: UUID
    outcome: str
    first_seq: int
    last_seq: int
    turns: int


@dataclass(frozen=True)
class AppendResult:
    turn: Turn
    kept: int
    moved: list[MovedChunk]
    pending: int


@dataclass(frozen=True)
class FlushResult:
    moved: list[MovedChunk]
    flushed: int
    cleared: bool


_SENTENCE = re.compile(r"(.+?[.!?])(?=\s|$)")
_MIN_LINE_CHARS = 40


def first_sentence(text: str) -> str:
    """The text's first sentence, whitespace collapsed (all of it when it has no sentence end)."""
    flat = " ".join(text.split())
    match = _SENTENCE.match(flat)
    return match.group(1) if match else flat


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


class FirstSentenceSummariser:
    """The offline default: a header, then one "role: first sentence" line per turn.

    No model, no network, and the same turns always give the same text. It keeps who said what first
    in each turn, not the detail: good enough to find a past conversation by recall, and replaceable
    by an LLM summariser through `Summariser`. Each line gets an equal share of `max_chars` (at least
    40 characters), and the whole is clipped to `max_chars`.
    """

    async def summarise(self, session_id: str, turns: Sequence[Turn], *, max_chars: int) -> str:
        header = f"Conversation {session_id}, turns {turns[0].seq}-{turns[-1].seq}:"
        budget = max(_MIN_LINE_CHARS, (max_chars - len(header)) // max(len(turns), 1) - 1)
        lines = [clip(f"{turn.role}: {first_sentence(turn.content)}", budget) for turn in turns]
        return clip("\n".join([header, *lines]), max_chars)


def overflow_chunk(max_turns: int) -> int:
    """How many turns one summary covers: a fifth of the window, at least two."""
    return max(2, max_turns // 5)


def summary_idempotency_key(session_id: str, epoch: str, first_seq: int, last_seq: int) -> str:
    return f"session:{session_id}:{epoch}:{first_seq}-{last_seq}"


class SessionService:
    def __init__(
        self,
        *,
        store: SessionStore,
        memories: Rememberer,
        summariser: Summariser,
        max_turns: int,
        ttl_seconds: int,
    ) -> None:
        self.store = store
        self.memories = memories
        self.summariser = summariser
        self.max_turns = max_turns
        self.ttl_seconds = ttl_seconds
        self.chunk = overflow_chunk(max_turns)

    async def append(self, user_id: str, session_id: str, turn: NewTurn, *, ttl_seconds: int | None) -> AppendResult:
        """Store a turn, then move whole chunks of overflow to long-term memory (see the module docstring)."""
        appended = await self.store.append(
            user_id, session_id, turn, ttl_seconds=ttl_seconds, default_ttl_seconds=self.ttl_seconds
        )
        moved, kept = await self._move_overflow(user_id, session_id, epoch=appended.epoch, total=appended.total)
        return AppendResult(turn=appended.turn, kept=kept, moved=moved, pending=max(kept - self.max_turns, 0))

    async def _move_overflow(
        self, user_id: str, session_id: str, *, epoch: str, total: int
    ) -> tuple[list[MovedChunk], int]:
        moved: list[MovedChunk] = []
        while total - self.max_turns >= self.chunk and len(moved) < MAX_CHUNKS_PER_APPEND:
            # The count read with the chunk decides: `total` may predate a concurrent append's trim, and
            # moving on it would move one chunk too many. Two appends that read the same head move the same
            # chunk, which remember stores once (its idempotency key).
            chunk, total = await self.store.head(user_id, session_id, count=self.chunk)
            if total - self.max_turns < self.chunk or len(chunk) < self.chunk:
                break
            try:
                moved.append(await self._summarise(user_id, session_id, epoch, chunk))
            except Exception:
                # The turn is stored: failing the append now would invite a retry that stores it twice.
                # The chunk stays in Valkey and the next append retries it.
                _log.warning("session overflow not moved to long-term memory; kept for the next append", exc_info=True)
                break
            total = await self.store.trim_through(user_id, session_id, chunk[-1].seq)
        return moved, total

    async def _summarise(self, user_id: str, session_id: str, epoch: str, chunk: Sequence[Turn]) -> MovedChunk:
        """Write one chunk as one summary memory (idempotent per chunk)."""
        first, last = chunk[0].seq, chunk[-1].seq
        text = await self.summariser.summarise(session_id, chunk, max_chars=MAX_MEMORY_CHARS)
        memory = NewMemory(
            kind="summary",
            # A turn stored before NUL was refused at the edge must not make its chunk unstorable forever.
            text=clip(text.replace(NUL, ""), MAX_MEMORY_CHARS),
            source=f"session:{session_id}",
            metadata={"session_id": session_id, "first_seq": first, "last_seq": last, "turns": len(chunk)},
            idempotency_key=summary_idempotency_key(session_id, epoch, first, last),
        )
        (result,) = await self.memories.remember(user_id, [memory])
        return MovedChunk(
            memory_id=result.memory.id, outcome=result.outcome, first_seq=first, last_seq=last, turns=len(chunk)
        )

    async def read(self, user_id: str, session_id: str, *, last: int) -> SessionSnapshot:
        snapshot = await self.store.snapshot(user_id, session_id, last=last)
        if snapshot is None:
            raise _not_found(session_id)
        return snapshot

    async def session_ids(self, user_id: str) -> list[str]:
        return await self.store.session_ids(user_id)

    async def delete(self, user_id: str, session_id: str) -> None:
        """Drop the session without summarising it (flush keeps what it said)."""
        if not await self.store.delete(user_id, session_id):
            raise _not_found(session_id)

    async def flush(self, user_id: str, session_id: str) -> FlushResult:
        """Move every turn there is now to long-term memory, then remove the session.

        Turns appended while the flush runs stay (the session then survives). A failure of long-term
        memory is raised: what was not moved stays in the session, and a retried flush replays the
        chunks that were moved.
        """
        snapshot = await self.store.snapshot(user_id, session_id, last=1)
        if snapshot is None:
            raise _not_found(session_id)
        moved: list[MovedChunk] = []
        left = snapshot.total
        while chunk := [
            t for t in await self.store.oldest(user_id, session_id, count=self.chunk) if t.seq <= snapshot.last_seq
        ]:
            moved.append(await self._summarise(user_id, session_id, snapshot.epoch, chunk))
            left = await self.store.trim_through(user_id, session_id, chunk[-1].seq)
        return FlushResult(moved=moved, flushed=sum(m.turns for m in moved), cleared=left == 0)


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"session {session_id} not found", details={"session_id": session_id})
