"""Long-term memory: remember (deduplicated, bi-temporal), get, update, forget, history.

Postgres is written first, in one transaction per call; the vector index follows after the commit (a
failed index write leaves the row pending for the repair loop, never lost). What remember does with a
new memory, in order:
1. an idempotency key seen before returns the first result ("replayed");
2. the same text (case and spacing aside) of the same kind, still active, is a "duplicate": the existing
   memory is kept, its importance raised to the larger of the two and its metadata merged;
3. a very similar active memory of the same kind (cosine >= MEMORY_DEDUPE_SIMILARITY) is "merged": it
   takes the new text, and its history keeps the old one;
4. otherwise it is "created"; it supersedes the active memories that share its `key` slot and the ones
   named in `supersedes`: they get `valid_to` (never deleted) and stay visible in history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from memory_gateway.domain.dedupe import CallState
from memory_gateway.domain.models import MemoryRow, NewMemory, Remembered, content_hash, status_of
from memory_gateway.domain.ports import MemoryIndex, MemoryStore, MemoryTx, Mirror, TextEmbedder
from pma_core.clock import Clock, utc_now
from pma_core.contracts.memory import MemoryHistoryRead, MemoryItem, MemoryRead, RememberRead
from pma_core.errors import NotFoundError, ValidationFailedError


class MemoryService:
    def __init__(
        self,
        *,
        store: MemoryStore,
        index: MemoryIndex,
        embedder: TextEmbedder,
        dedupe_similarity: float,
        mirror: Mirror | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.dedupe_similarity = dedupe_similarity
        self.mirror = mirror
        self.clock = clock

    async def remember(self, user_id: str, items: Sequence[NewMemory]) -> list[Remembered]:
        """Store a batch (1-100) for one user in one transaction; see the module docstring for the rules."""
        vectors = await self.embedder.embed([item.text for item in items])
        async with self.store.transaction(user_id) as tx:
            state = CallState(await tx.known(items), vectors)
            results = await self._remember_all(tx, items, state)
            if any(r.outcome != "replayed" for r in results):
                await tx.bump_generation()
        # Created and merged memories now hold exactly their item's text, so its vector is already known.
        known = {r.memory.id: v for r, v in zip(results, vectors, strict=True) if r.outcome in ("created", "merged")}
        written = [r.memory for r in results if r.memory.id in known]
        if known:
            await self.index.index(list(known), known=known)
        if self.mirror is not None:
            for row in written:
                self.mirror.mirror(user_id, row.text, {"pma_memory_id": str(row.id), "kind": row.kind})
        return results

    async def _remember_all(self, tx: MemoryTx, items: Sequence[NewMemory], state: CallState) -> list[Remembered]:
        """Each item in order; plainly new ones wait and are inserted together (see domain/dedupe.py)."""
        results: dict[int, Remembered] = {}
        for index, item in enumerate(items):
            if await self._plainly_new(tx, index, item, state):
                state.wait(index, item)
                continue
            await self._write_pending(tx, state, results)
            results[index] = await self._remember_one(tx, index, item, state)
        await self._write_pending(tx, state, results)
        return [results[index] for index in range(len(items))]

    async def _plainly_new(self, tx: MemoryTx, index: int, item: NewMemory, state: CallState) -> bool:
        if item.key or item.supersedes or state.seen(item):
            return False
        if item.kind == "summary":
            return True
        if state.similar(index, item.kind, self.dedupe_similarity) is not None:
            return False
        # Unknown (the index could not be searched) is not plainly new: the careful way still finds an
        # exact duplicate, a replay or a key's slot in Postgres.
        return await self._similar_in_index(tx.user_id, item, state.vectors[index]) == []

    async def _write_pending(self, tx: MemoryTx, state: CallState, results: dict[int, Remembered]) -> None:
        if state.pending:
            rows = await tx.insert_many([(pending.id, pending.item) for pending in state.pending])
            for index, row in state.written(rows):
                results[index] = Remembered(row, "created")

    async def _remember_one(self, tx: MemoryTx, index: int, item: NewMemory, state: CallState) -> Remembered:
        """The careful way, with fresh queries: replay, duplicate, near-duplicate, or create (superseding)."""
        if item.idempotency_key and (first := await tx.by_idempotency_key(item.idempotency_key)):
            return Remembered(first, "replayed")
        if same := await tx.active_by_hash(content_hash(item.kind, item.text)):
            return Remembered(await self._absorb(tx, same, item, action_text=None), "duplicate")
        # Session summaries cover different turns even when they read alike: never merge them.
        if item.kind != "summary" and (similar := await self._near_duplicate(tx, index, item, state)):
            state.merged(item)
            return Remembered(await self._absorb(tx, similar, item, action_text=item.text), "merged")
        result = await self._create(tx, item)
        state.created(index, item, result.memory)
        return result

    async def _near_duplicate(self, tx: MemoryTx, index: int, item: NewMemory, state: CallState) -> MemoryRow | None:
        if (slot := state.similar(index, item.kind, self.dedupe_similarity)) is not None:
            return state.row(slot)
        hits = await self._similar_in_index(tx.user_id, item, state.vectors[index]) or []
        candidates = await tx.active(hits) if hits else []
        order = {hit: rank for rank, hit in enumerate(hits)}
        return min(candidates, key=lambda row: order[row.id], default=None)

    async def _similar_in_index(
        self, user_id: str, item: NewMemory, vector: npt.NDArray[np.float32]
    ) -> list[UUID] | None:
        """Indexed memories of the same kind at least `dedupe_similarity` alike, nearest first (None: the
        index could not be searched, so near-duplicates are not merged)."""
        return await self.index.similar(user_id, vector.tolist(), kind=item.kind, threshold=self.dedupe_similarity)

    async def _absorb(
        self, tx: MemoryTx, existing: MemoryRow, item: NewMemory, *, action_text: str | None
    ) -> MemoryRow:
        """Fold a repeated memory into the existing one: keep one copy, lose nothing it said."""
        changes: dict[str, Any] = {
            "importance": max(existing.importance, item.importance),
            "metadata": {**existing.metadata, **item.metadata},
        }
        if action_text is not None and action_text != existing.text:
            changes["text"] = action_text
        if item.source and not existing.source:
            changes["source"] = item.source
        updated = await tx.update(existing.id, changes)
        details = {"outcome": "merged" if action_text else "duplicate", "source": item.source}
        await tx.record(existing.id, "merged", old_text=existing.text, new_text=updated.text, details=details)
        return updated

    async def _create(self, tx: MemoryTx, item: NewMemory) -> Remembered:
        explicit = await tx.active(item.supersedes) if item.supersedes else []
        missing = set(item.supersedes) - {row.id for row in explicit}
        if missing:
            raise ValidationFailedError(
                "supersedes names memories that are not active memories of this user",
                details={"field": "supersedes", "ids": sorted(str(i) for i in missing)},
            )
        slot_holders = await tx.active_with_key(item.key) if item.key else []
        created = await tx.insert(item)
        await tx.record(created.id, "created", old_text=None, new_text=created.text, details={"source": item.source})
        replaced = {row.id: row for row in [*explicit, *slot_holders]}
        if replaced:
            await tx.supersede(list(replaced), created.id)
            for old in replaced.values():
                why = {"superseded_by": str(created.id), "reason": "key" if old.key == item.key else "explicit"}
                await tx.record(old.id, "superseded", old_text=old.text, new_text=created.text, details=why)
        return Remembered(created, "created", tuple(replaced))

    async def get(self, user_id: str, memory_id: UUID) -> MemoryRow:
        row = await self.store.get(user_id, memory_id)
        if row is None:
            raise NotFoundError(f"memory {memory_id} not found", details={"id": str(memory_id)})
        return row

    async def update(self, user_id: str, memory_id: UUID, changes: dict[str, Any]) -> MemoryRow:
        """Edit a memory in place (history keeps the old text); a new text is re-embedded."""
        async with self.store.transaction(user_id) as tx:
            current = await tx.lock(memory_id)
            if current is None:
                raise NotFoundError(f"memory {memory_id} not found", details={"id": str(memory_id)})
            updated = await tx.update(memory_id, changes)
            details = {"changed": sorted(changes)}
            await tx.record(memory_id, "updated", old_text=current.text, new_text=updated.text, details=details)
            await tx.bump_generation()
        if "text" in changes or "kind" in changes:
            await self.index.index([memory_id])
        return updated

    async def forget(self, user_id: str, memory_id: UUID) -> None:
        """Delete a memory and its history from Postgres, and its point from the index."""
        async with self.store.transaction(user_id) as tx:
            if not await tx.delete(memory_id):
                raise NotFoundError(f"memory {memory_id} not found", details={"id": str(memory_id)})
            await tx.bump_generation()
        await self.index.remove([memory_id])

    async def history(self, user_id: str, memory_id: UUID) -> list[MemoryHistoryRead]:
        """Every change of the user's memory, oldest first; 404 for an unknown id or another user's."""
        await self.get(user_id, memory_id)
        return [MemoryHistoryRead(**vars(entry)) for entry in await self.store.history(user_id, memory_id)]

    def read(self, row: MemoryRow) -> MemoryRead:
        """The memory as the API shows it, with its status now."""
        return memory_read(row, self.clock())

    def remembered(self, result: Remembered) -> RememberRead:
        return RememberRead(memory=self.read(result.memory), outcome=result.outcome, superseded=list(result.superseded))


def new_memory(item: MemoryItem) -> NewMemory:
    """What a remember request asks to store, as the domain takes it."""
    return NewMemory(
        kind=item.kind,
        text=item.text,
        key=item.key,
        source=item.source,
        metadata=item.metadata,
        importance=item.importance,
        expires_at=item.expires_at,
        idempotency_key=item.idempotency_key,
        supersedes=tuple(item.supersedes),
    )


def memory_read(row: MemoryRow, now: datetime) -> MemoryRead:
    fields = {name: getattr(row, name) for name in MemoryRead.model_fields if name != "status"}
    return MemoryRead(**fields, status=status_of(row, now))
