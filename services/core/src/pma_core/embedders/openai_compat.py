"""Remote embeddings from any OpenAI-compatible `/embeddings` API (OpenRouter, OpenAI, a local server).

The provider is chosen by base URL + model. The vector size comes from the provider: `start()` embeds
a probe text to learn it, unless `EMBEDDING_DIMENSIONS` asks for a size, in which case every answer is
checked against it (models without `dimensions` support silently return their native size).
Retries on 429/5xx and timeouts are the `openai` SDK's (`LLM_MAX_RETRIES`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai
from openai import AsyncOpenAI
from openai.types import CreateEmbeddingResponse

from pma_core.embedders.port import EmbeddingError
from pma_core.llm.guard import ensure_model_requests_allowed, is_loopback_url, url_host
from pma_core.settings import EmbeddingSettings, LLMSettings

BATCH_SIZE = 128
_PROBE_TEXT = "dimension probe"
_NO_KEY = "no-key"


class OpenAICompatibleEmbedder:
    """Embeddings through `AsyncOpenAI.embeddings.create`, batched and L2-normalised."""

    def __init__(self, settings: EmbeddingSettings, llm: LLMSettings, *, batch_size: int = BATCH_SIZE) -> None:
        self._settings = settings
        self._llm = llm
        self._batch_size = batch_size
        self._dimension: int | None = settings.dimensions
        self._client: AsyncOpenAI | None = None
        self._provider = url_host(settings.base_url) or settings.base_url

    @property
    def name(self) -> str:
        """`openai:<model>` (the provider is the base URL's business; the model names the space)."""
        return f"openai:{self._settings.model}"

    @property
    def identity(self) -> str:
        """`openai:<model>:<dimension>` (known after `start()`): a model gives other vectors at another size."""
        return f"{self.name}:{self.dimension}"

    @property
    def dimension(self) -> int:
        """`EMBEDDING_DIMENSIONS`, or the size the provider returned to `start()`'s probe."""
        if self._dimension is None:
            raise EmbeddingError(f"{self.name}: dimension unknown until start()")
        return self._dimension

    async def start(self) -> None:
        """Check the configuration and, unless `EMBEDDING_DIMENSIONS` is set, learn the vector size."""
        self._sdk()
        if self._dimension is None:
            probe = await self._embed_batch([_PROBE_TEXT])
            self._dimension = len(probe[0])

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order, in requests of at most `batch_size` inputs."""
        if not texts:
            return []
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._embed_batch(texts[start : start + self._batch_size]))
        return vectors

    async def close(self) -> None:
        """Close the SDK client and its connection pool."""
        if self._client is not None:
            await self._client.close()
        self._client = None

    def _sdk(self) -> AsyncOpenAI:
        """The SDK client, after the checks that must come before any network I/O."""
        settings = self._settings
        key = settings.api_key
        if key is None and settings.base_url == self._llm.base_url:
            # One OpenRouter key usually serves both chat and embeddings.
            key = self._llm.api_key
        if key is None and not is_loopback_url(settings.base_url):
            raise EmbeddingError(f"no API key for the embedding provider {self._provider}: set EMBEDDING_API_KEY")
        ensure_model_requests_allowed(
            settings.base_url, allowed=self._llm.allow_model_requests, what="embedding request"
        )
        if self._client is None:
            self._client = AsyncOpenAI(
                api_key=key.get_secret_value() if key is not None else _NO_KEY,
                base_url=settings.base_url,
                timeout=settings.timeout_seconds,
                max_retries=self._llm.max_retries,
                default_headers={"HTTP-Referer": self._llm.app_url, "X-Title": self._llm.app_name},
            )
        return self._client

    async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        client = self._sdk()
        # The API rejects empty strings; a lone space embeds to the same "nothing" for every text.
        inputs = [text if text.strip() else " " for text in texts]
        dimensions = self._settings.dimensions
        try:
            # `float` explicitly: the SDK's default (base64) is not implemented by every compatible API.
            response = await client.embeddings.create(
                model=self._settings.model,
                input=inputs,
                encoding_format="float",
                dimensions=dimensions if dimensions is not None else openai.omit,
            )
        except openai.APITimeoutError as exc:
            raise EmbeddingError(
                f"embedding request to {self._provider} timed out after {self._settings.timeout_seconds}s "
                f"({self._llm.max_retries} retries)"
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbeddingError(
                f"embedding provider {self._provider} answered HTTP {exc.status_code} for model "
                f"{self._settings.model}: {_provider_message(exc)}"
            ) from exc
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embedding request to {self._provider} failed: {exc}") from exc
        return self._vectors(response, expected=len(inputs))

    def _vectors(self, response: CreateEmbeddingResponse, *, expected: int) -> list[list[float]]:
        """Order by `index`, check count and size, and L2-normalise (not every provider does)."""
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != expected:
            raise EmbeddingError(f"{self._provider} returned {len(data)} embeddings for {expected} inputs")
        sizes = {len(item.embedding) for item in data}
        if len(sizes) != 1:
            raise EmbeddingError(f"{self._provider} returned embeddings of different sizes: {sorted(sizes)}")
        size = sizes.pop()
        if self._dimension is not None and size != self._dimension:
            hint = " (does the model support `dimensions`?)" if self._settings.dimensions else ""
            raise EmbeddingError(
                f"{self._provider} returned {size}-dimensional vectors for {self._settings.model}, "
                f"expected {self._dimension}{hint}"
            )
        matrix = np.asarray([item.embedding for item in data], dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if (norms == 0).any():
            raise EmbeddingError(f"{self._provider} returned an all-zero embedding")
        rows: list[list[float]] = (matrix / norms).tolist()
        return rows


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message
