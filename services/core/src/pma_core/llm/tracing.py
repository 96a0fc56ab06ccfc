"""A small Langfuse tracer: one trace per LLM call, one generation per attempt, sent in one batch.

It speaks Langfuse's public ingestion API directly (`POST {host}/api/public/ingestion`, basic auth
`public_key:secret_key`) instead of pulling in the Langfuse SDK and its OpenTelemetry stack. Tracing
is best-effort: batches are posted in the background, bounded by a short timeout, and every failure
is logged and swallowed, so a slow or broken Langfuse can never fail or slow an LLM call.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from pma_core.llm.types import LLMUsage
from pma_core.settings import LangfuseSettings

logger = logging.getLogger(__name__)

INGESTION_PATH = "/api/public/ingestion"


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """One model call (attempt) inside a trace."""

    name: str
    model: str
    input: Sequence[Mapping[str, str]]
    output: str | None
    usage: LLMUsage
    start_time: datetime
    end_time: datetime
    model_parameters: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One logical LLM operation (e.g. a structured call with its repair attempt)."""

    trace_id: str
    name: str
    timestamp: datetime
    input: Any
    output: Any
    metadata: Mapping[str, Any]
    generations: Sequence[GenerationRecord]


class Tracer(Protocol):
    """Where LLM calls are reported; `record` must never raise and never block."""

    def new_trace_id(self) -> str | None:
        """A fresh trace id, or None when tracing is off (callers then skip building records)."""
        ...

    def record(self, trace: TraceRecord) -> None:
        """Queue the trace for sending; returns at once."""
        ...

    async def flush(self) -> None:
        """Wait until every recorded trace has been sent (or given up on)."""
        ...

    async def aclose(self) -> None:
        """Flush, then release the HTTP client."""
        ...


class NoopTracer:
    """Tracing switched off."""

    def new_trace_id(self) -> str | None:
        """None: no trace, so callers skip building records."""
        return None

    def record(self, trace: TraceRecord) -> None:
        """Drop the trace."""

    async def flush(self) -> None:
        """Nothing pending."""

    async def aclose(self) -> None:
        """Nothing to release."""


class LangfuseTracer:
    """Posts traces to Langfuse in background tasks; `flush`/`aclose` wait for them."""

    def __init__(self, settings: LangfuseSettings, *, http_client: httpx.AsyncClient | None = None) -> None:
        if not settings.enabled or settings.secret_key is None or not settings.public_key:
            raise ValueError("LangfuseTracer needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY")
        self._url = settings.host.rstrip("/") + INGESTION_PATH
        self._auth = httpx.BasicAuth(settings.public_key, settings.secret_key.get_secret_value())
        self._timeout = settings.timeout_seconds
        self._client = http_client
        self._owns_client = http_client is None
        self._pending: set[asyncio.Task[None]] = set()

    def new_trace_id(self) -> str | None:
        """A random 32-hex-digit id (the W3C trace id shape Langfuse also uses)."""
        return uuid.uuid4().hex

    def record(self, trace: TraceRecord) -> None:
        """Schedule the trace's batch for sending and return at once."""
        try:
            batch = ingestion_batch(trace)
            task = asyncio.get_running_loop().create_task(self._send(batch, trace.trace_id))
        except Exception:
            logger.warning("langfuse: could not queue trace %s", trace.trace_id, exc_info=True)
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Wait for the batches in flight; each is bounded by the Langfuse timeout."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Flush, then close the HTTP client if the tracer created it."""
        await self.flush()
        if self._owns_client and self._client is not None:
            await self._client.aclose()
        self._client = None

    async def _send(self, batch: dict[str, Any], trace_id: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http().post(self._url, json=batch, auth=self._auth)
        except Exception as exc:  # tracing must never break the caller, whatever went wrong
            logger.warning("langfuse: trace %s not sent: %s", trace_id, _describe(exc))
            return
        if response.status_code >= 300 and response.status_code != 207:
            logger.warning("langfuse: trace %s rejected: HTTP %s", trace_id, response.status_code)
            return
        errors = _batch_errors(response)
        if errors:
            logger.warning("langfuse: trace %s: %d event(s) rejected: %s", trace_id, len(errors), errors[:3])

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Created lazily so that building a tracer never touches the event loop.
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client


def make_tracer(settings: LangfuseSettings) -> Tracer:
    """A Langfuse tracer when both keys are set, otherwise a no-op."""
    return LangfuseTracer(settings) if settings.enabled else NoopTracer()


def ingestion_batch(trace: TraceRecord) -> dict[str, Any]:
    """The ingestion request body: a `trace-create` event and one `generation-create` per attempt."""
    trace_body = {
        "id": trace.trace_id,
        "timestamp": _iso(trace.timestamp),
        "name": trace.name,
        "input": trace.input,
        "output": trace.output,
        "metadata": dict(trace.metadata),
    }
    events = [_event("trace-create", trace_body)]
    events += [_event("generation-create", _generation_body(trace.trace_id, g)) for g in trace.generations]
    return {"batch": events}


def _generation_body(trace_id: str, generation: GenerationRecord) -> dict[str, Any]:
    usage = generation.usage
    body: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "traceId": trace_id,
        "name": generation.name,
        "startTime": _iso(generation.start_time),
        "endTime": _iso(generation.end_time),
        "model": generation.model,
        "modelParameters": dict(generation.model_parameters),
        "input": [dict(message) for message in generation.input],
        "output": generation.output,
        "usage": {
            "input": usage.prompt_tokens,
            "output": usage.completion_tokens,
            "total": usage.total_tokens,
            "unit": "TOKENS",
        },
        # The newer fields; Langfuse prefers them when present and keeps `usage` for older servers.
        "usageDetails": {
            "input": usage.prompt_tokens,
            "output": usage.completion_tokens,
            "total": usage.total_tokens,
        },
        "metadata": dict(generation.metadata),
        "level": "ERROR" if generation.error else "DEFAULT",
    }
    if usage.cost_usd is not None:
        body["usage"]["totalCost"] = usage.cost_usd
        body["costDetails"] = {"total": usage.cost_usd}
    if generation.error:
        body["statusMessage"] = generation.error
    return body


def _event(event_type: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "timestamp": _iso(datetime.now(UTC)), "type": event_type, "body": body}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _batch_errors(response: httpx.Response) -> list[Any]:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return []
    return list(errors) if isinstance(errors, list) else []


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
