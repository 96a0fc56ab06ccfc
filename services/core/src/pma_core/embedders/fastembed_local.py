"""Local ONNX embeddings with fastembed (the optional `pma-core[fastembed]` extra, used in the images).

`fastembed` is imported inside `start()` so that the package stays importable without the extra.
The model runs in a worker thread: inference is CPU-bound and would otherwise stall the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from pma_core.embedders.port import EmbeddingError

_PROBE_TEXT = "dimension probe"


class FastEmbedEmbedder:
    """A fastembed `TextEmbedding` model (e.g. `BAAI/bge-small-en-v1.5`, 384 dimensions)."""

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name
        self._model: Any = None
        self._dimension: int | None = None
        # One inference at a time: fastembed's model object is not documented as thread-safe, and
        # ONNX Runtime already uses every core for a single batch.
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        """`fastembed:<model>`."""
        return f"fastembed:{self._model_name}"

    @property
    def identity(self) -> str:
        """`fastembed:<model>`: the model fixes its vectors (and their size)."""
        return self.name

    @property
    def dimension(self) -> int:
        """The model's vector size, learnt in `start()`."""
        if self._dimension is None:
            raise EmbeddingError(f"{self.name}: dimension unknown until start()")
        return self._dimension

    async def start(self) -> None:
        """Load the model (fastembed downloads it on first use) and learn its vector size."""
        if self._model is not None:
            return
        try:
            from fastembed import TextEmbedding
        except ImportError as exc:
            raise EmbeddingError(
                "EMBEDDING_PROVIDER=fastembed needs the optional fastembed package: "
                "pip install 'pma-core[fastembed]' (or pick EMBEDDING_PROVIDER=hashing or openai)"
            ) from exc
        try:
            self._model = await asyncio.to_thread(TextEmbedding, model_name=self._model_name)
        except Exception as exc:
            raise EmbeddingError(f"{self.name}: could not load the model: {exc}") from exc
        probe = await self._run([_PROBE_TEXT])
        self._dimension = len(probe[0])

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order."""
        if not texts:
            return []
        if self._model is None:
            raise EmbeddingError(f"{self.name}: embed() called before start()")
        return await self._run(list(texts))

    async def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        self._model = None

    async def _run(self, texts: list[str]) -> list[list[float]]:
        async with self._lock:
            try:
                matrix = await asyncio.to_thread(self._embed_sync, texts)
            except Exception as exc:
                raise EmbeddingError(f"{self.name}: inference failed: {exc}") from exc
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        rows: list[list[float]] = (matrix / np.where(norms == 0, 1.0, norms)).tolist()
        return rows

    def _embed_sync(self, texts: list[str]) -> Any:
        # `TextEmbedding.embed` yields one numpy array per text, lazily and in input order.
        return np.asarray(list(self._model.embed(texts)), dtype=np.float32)
