"""What one remember call knows while it works through its items: the store's exact duplicates and
idempotency keys (read once for the whole call), what the call itself wrote, and the items waiting to be
inserted together.

An item is "plainly new" when it has no slot key and supersedes nothing, and neither the store nor the
call holds its idempotency key, its exact text or (in the index or in the call) a near-duplicate. Such
items are inserted together, in one statement; any other item first writes the waiting ones and then takes
the careful way, with fresh queries, so every item still sees all earlier ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid4

import numpy as np

from memory_gateway.domain.models import MemoryRow, NewMemory, content_hash


@dataclass(frozen=True)
class Known:
    """Idempotency keys of the user's memories and content hashes of their active ones."""

    keys: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Pending:
    """A plainly new item, waiting to be inserted with the others; `id` is chosen here."""

    index: int
    slot: int
    item: NewMemory
    id: UUID = field(default_factory=uuid4)


class CallState:
    """The bookkeeping of one remember call; see the module docstring."""

    def __init__(self, known: Known, vectors: Sequence[Sequence[float]]) -> None:
        self.known = known
        matrix = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        # Unit rows: a matrix product is then the cosine, whatever the embedder's own scaling.
        self.vectors = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        # Memories created by this call, in order: their kind, their item's vector (a row of `vectors`),
        # and the row once it is written (None while it waits).
        self.kinds: list[str] = []
        self.sources: list[int] = []
        self.rows: list[MemoryRow | None] = []
        self.pending: list[Pending] = []

    def seen(self, item: NewMemory) -> bool:
        """Its idempotency key or its exact text (case and spacing aside) is in the store or in this call."""
        if item.idempotency_key and item.idempotency_key in self.known.keys:
            return True
        return content_hash(item.kind, item.text) in self.known.hashes

    def similar(self, index: int, kind: str, threshold: float) -> int | None:
        """The slot of the first memory this call created of the same kind and cosine >= threshold."""
        if not self.kinds:
            return None
        scores = self.vectors[self.sources] @ self.vectors[index]
        matches = np.flatnonzero((np.asarray(self.kinds) == kind) & (scores >= threshold))
        return int(matches[0]) if matches.size else None

    def wait(self, index: int, item: NewMemory) -> Pending:
        """Queue a plainly new item; it counts as created from now on."""
        pending = Pending(index=index, slot=self._slot(index, item, None), item=item)
        self.pending.append(pending)
        return pending

    def created(self, index: int, item: NewMemory, row: MemoryRow) -> None:
        """A memory the careful way created."""
        self._slot(index, item, row)

    def merged(self, item: NewMemory) -> None:
        """An existing memory took the item's text: its exact text is active now."""
        self.known.hashes.add(content_hash(item.kind, item.text))

    def row(self, slot: int) -> MemoryRow:
        row = self.rows[slot]
        assert row is not None, "a waiting memory is written before anything refers to it"
        return row

    def written(self, rows: dict[UUID, MemoryRow]) -> list[tuple[int, MemoryRow]]:
        """The waiting items were inserted as `rows`: their (item index, row), in order."""
        done = []
        for pending in self.pending:
            row = rows[pending.id]
            self.rows[pending.slot] = row
            done.append((pending.index, row))
        self.pending.clear()
        return done

    def _slot(self, index: int, item: NewMemory, row: MemoryRow | None) -> int:
        self.kinds.append(item.kind)
        self.sources.append(index)
        self.rows.append(row)
        self.known.hashes.add(content_hash(item.kind, item.text))
        if item.idempotency_key:
            self.known.keys.add(item.idempotency_key)
        return len(self.rows) - 1
