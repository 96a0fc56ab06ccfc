"""What the services need from an embedder, whichever engine is behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pma_core.errors import UpstreamError


class EmbeddingError(UpstreamError):
    """The embedder could not produce vectors (engine missing, provider failing, wrong sizes).

    An upstream error: a request that needed vectors answers 502 `upstream_error` with this message."""


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of a fixed size.

    `name` identifies the vector space (e.g. `hashing-384`, `openai:openai/text-embedding-3-small`):
    vectors from embedders with different names or dimensions must never be compared.
    """

    @property
    def name(self) -> str:
        """Identifies the vector space (engine, model and, implicitly with `dimension`, its size)."""
        ...

    @property
    def identity(self) -> str:
        """Names exactly the vectors this embedder produces: engine, model or algorithm version, size.

        e.g. `hashing-v1:384`, `openai:openai/text-embedding-3-small:1536`, `fastembed:BAAI/bge-small-en-v1.5`.
        The memory-gateway stamps it on its collections and refuses to start on vectors of another
        identity; may need `start()` (it can include the dimension).
        """
        ...

    @property
    def dimension(self) -> int:
        """The vector size; for remote and model-based embedders it is known only after `start()`."""
        ...

    async def start(self) -> None:
        """Load the model or learn the dimension from the provider; call once before `embed`."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in input order; `[]` for no texts."""
        ...

    async def close(self) -> None:
        """Release the client or model; the embedder is not used afterwards."""
        ...
