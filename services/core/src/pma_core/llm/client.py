"""The LLM client: chat completions through the `openai` SDK against any OpenAI-compatible API.

OpenRouter is the default (base URL + model pick the provider). Structured calls ask for strict JSON
schema output, validate it into a pydantic model, and give the model one chance to repair an invalid
reply. Retries with backoff on 408/409/429/5xx (an HTML page from a proxy or CDN included), dropped
connections and timeouts are the SDK's (`max_retries`; it honours a positive `Retry-After`); what still
fails becomes an `UpstreamError` (502) that names the provider and says what came back. A 200 that is
no completion (not JSON, no `choices`, an error object) and an answer cut off at max_tokens
(`finish_reason: "length"`) fail at once: neither is retried nor repaired, and a cut-off answer is
never parsed (half a plan must not pass for a plan).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from pma_core.errors import UpstreamError
from pma_core.llm.guard import ensure_model_requests_allowed, is_loopback_url, url_host
from pma_core.llm.schema import parse_reply, repair_turns, schema_name, strict_json_schema
from pma_core.llm.tracing import GenerationRecord, NoopTracer, Tracer, TraceRecord
from pma_core.llm.types import (
    ChatMessage,
    LLMNotConfiguredError,
    LLMOutputInvalidError,
    LLMUsage,
    StructuredResult,
    T,
    TextResult,
)
from pma_core.settings import LLMSettings

# OpenRouter returns the call's cost in `usage.cost` when asked.
_OPENROUTER_USAGE = {"usage": {"include": True}}
# For local servers that need no key: without one the SDK fails with "Missing credentials" (after
# looking at OPENAI_API_KEY, which is not ours to use).
_NO_KEY = "no-key"
# How much of an unexpected body an error message quotes.
_SNIPPET = 200
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(slots=True)
class _Reply:
    content: str | None
    model: str
    usage: LLMUsage
    finish_reason: str | None = None


@dataclass(slots=True)
class _CallLog:
    """What one `structured`/`complete` call did, for its result and its trace."""

    name: str
    requested_model: str
    metadata: Mapping[str, str]
    trace_id: str | None
    temperature: float
    # What the provider says answered (OpenRouter may route an alias to a dated or other model).
    model: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    usage: LLMUsage = field(default_factory=LLMUsage)
    generations: list[GenerationRecord] = field(default_factory=list)
    output: Any = None


class LLMClient:
    """Chat completions with structured output, repair, error mapping and optional Langfuse tracing."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        tracer: Tracer | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._tracer: Tracer = tracer if tracer is not None else NoopTracer()
        # Handed to the SDK as its transport (it accepts an `httpx.AsyncClient` as well as its own
        # `httpx2` client); the caller keeps ownership and closes it.
        self._http_client = http_client
        self._openai: AsyncOpenAI | None = None

    @property
    def settings(self) -> LLMSettings:
        """The settings this client was built with (model, provider URL, switches)."""
        return self._settings

    @property
    def provider(self) -> str:
        """The provider's host name (e.g. `openrouter.ai`), used in errors and traces."""
        return url_host(self._settings.base_url) or self._settings.base_url

    async def aclose(self) -> None:
        """Close the SDK client (but not an `http_client` the caller passed in)."""
        if self._openai is not None and self._http_client is None:
            await self._openai.close()
        self._openai = None

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def structured(
        self,
        *,
        messages: Sequence[ChatMessage],
        output_type: type[T],
        name: str,
        metadata: Mapping[str, str] | None = None,
        temperature: float = 0.2,
        model: str | None = None,
    ) -> StructuredResult[T]:
        """Ask for JSON matching `output_type`'s schema and return it validated.

        An invalid first reply (not JSON, or not the schema) is sent back once with the validation
        errors; a second invalid reply raises `LLMOutputInvalidError` (502). Usage is summed over
        both attempts so cost accounting stays exact.
        """
        client = self._client()
        log = self._new_log(name, model=model, metadata=metadata, temperature=temperature)
        payload = [_wire(message) for message in messages]
        response_format = _response_format(name, output_type)
        try:
            first = await self._attempt(client, log, payload=payload, response_format=response_format)
            value, problem = parse_reply(first.content, output_type)
            if value is not None:
                return self._structured_result(log, value, attempts=1)
            repair = [*payload, *repair_turns(first.content, problem)]
            second = await self._attempt(client, log, payload=repair, response_format=response_format)
            value, problem = parse_reply(second.content, output_type)
            if value is not None:
                return self._structured_result(log, value, attempts=2)
            raise self._invalid_output(log, problem)
        except Exception as exc:
            log.output = {"error": str(exc)}
            raise
        finally:
            self._record(log, messages)

    async def complete(
        self,
        *,
        messages: Sequence[ChatMessage],
        name: str,
        metadata: Mapping[str, str] | None = None,
        temperature: float = 0.2,
        model: str | None = None,
    ) -> TextResult:
        """Free-text completion, with the same guard, error mapping and tracing as `structured`."""
        client = self._client()
        log = self._new_log(name, model=model, metadata=metadata, temperature=temperature)
        try:
            reply = await self._attempt(client, log, payload=[_wire(m) for m in messages], response_format=None)
            text = reply.content or ""
            log.output = text
            return TextResult(text=text, model=reply.model, usage=log.usage, trace_id=log.trace_id)
        except Exception as exc:
            log.output = {"error": str(exc)}
            raise
        finally:
            self._record(log, messages)

    def _client(self) -> AsyncOpenAI:
        """The SDK client, after the configuration checks that must precede any network I/O."""
        settings = self._settings
        loopback = is_loopback_url(settings.base_url)
        if settings.api_key is None and not loopback:
            raise LLMNotConfiguredError(
                f"no API key for the LLM provider {self.provider}: set LLM_API_KEY (or OPENROUTER_API_KEY)",
                details={"provider": self.provider},
            )
        ensure_model_requests_allowed(settings.base_url, allowed=settings.allow_model_requests, what="LLM request")
        if self._openai is None:
            key = settings.api_key.get_secret_value() if settings.api_key is not None else _NO_KEY
            self._openai = AsyncOpenAI(
                api_key=key,
                base_url=settings.base_url,
                timeout=settings.timeout_seconds,
                max_retries=settings.max_retries,
                # OpenRouter attributes calls to an app by these; other providers ignore them.
                default_headers={"HTTP-Referer": settings.app_url, "X-Title": settings.app_name},
                http_client=cast(Any, self._http_client),
            )
        return self._openai

    def _new_log(
        self, name: str, *, model: str | None, metadata: Mapping[str, str] | None, temperature: float
    ) -> _CallLog:
        return _CallLog(
            name=name,
            requested_model=model or self._settings.model,
            metadata=dict(metadata or {}),
            trace_id=self._tracer.new_trace_id(),
            temperature=temperature,
        )

    async def _attempt(
        self,
        client: AsyncOpenAI,
        log: _CallLog,
        *,
        payload: list[ChatCompletionMessageParam],
        response_format: ResponseFormatJSONSchema | None,
    ) -> _Reply:
        """One chat completion (the SDK may retry it); logged as one generation either way."""
        started, clock = datetime.now(UTC), time.monotonic()
        try:
            completion = await client.chat.completions.create(
                model=log.requested_model,
                messages=payload,
                temperature=log.temperature,
                response_format=response_format if response_format is not None else openai.omit,
                extra_body=_OPENROUTER_USAGE,
            )
            reply = self._reply(completion, log.requested_model)
        except Exception as exc:
            error = self._upstream_error(exc, log.requested_model, elapsed=time.monotonic() - clock)
            failed = _Reply(content=None, model=log.requested_model, usage=LLMUsage())
            log.generations.append(_generation(log, payload, reply=failed, started=started, error=str(error)))
            if error is exc:
                raise
            raise error from exc
        # A cut-off answer still cost its tokens: counted (and traced) before it is refused.
        log.usage = log.usage + reply.usage
        log.model = reply.model
        truncated = self._truncated(reply) if reply.finish_reason == "length" else None
        error_text = str(truncated) if truncated is not None else None
        log.generations.append(_generation(log, payload, reply=reply, started=started, error=error_text))
        if truncated is not None:
            raise truncated
        return reply

    def _reply(self, completion: ChatCompletion, requested_model: str) -> _Reply:
        details = {"provider": self.provider, "model": requested_model}
        answer: object = completion
        if not isinstance(answer, ChatCompletion):
            # The SDK hands back the text of a 200 that does not say it is JSON (an HTML page, say).
            raise UpstreamError(
                f"LLM provider {self.provider} answered HTTP 200 for model {requested_model} with "
                f"{_describe_text(str(answer))} instead of a chat completion",
                code="llm_bad_response",
                details=details,
            )
        error = (completion.model_extra or {}).get("error")
        if error is not None:
            # Some providers (and OpenRouter, for an upstream failure) put an error object in a 200.
            message = error.get("message") if isinstance(error, Mapping) else error
            raise UpstreamError(
                f"LLM provider {self.provider} answered HTTP 200 with an error instead of a chat completion "
                f"for model {requested_model}: {_snippet(str(message))}",
                code="llm_bad_response",
                details=details,
            )
        choices = getattr(completion, "choices", None)
        if not choices:
            raise UpstreamError(
                f"{self.provider} returned no choices for model {requested_model}",
                code="llm_empty_response",
                details=details,
            )
        message = choices[0].message
        content = message.content
        if content is None and message.refusal:
            # A refusal is surfaced as the "content" so that validation reports it and repair can try.
            content = f"REFUSAL: {message.refusal}"
        return _Reply(
            content=content,
            model=completion.model or requested_model,
            usage=_usage(completion),
            finish_reason=choices[0].finish_reason,
        )

    def _truncated(self, reply: _Reply) -> UpstreamError:
        """The error for an answer the model could not finish: never parsed, repaired or retried (the
        same request would hit the same limit)."""
        tokens = reply.usage.completion_tokens
        return UpstreamError(
            f"the model's answer was cut off at max_tokens (finish_reason length): {self.provider} model "
            f"{reply.model} stopped after {tokens} tokens; the incomplete answer was not used",
            code="llm_truncated",
            details={"provider": self.provider, "model": reply.model, "completion_tokens": tokens},
        )

    def _upstream_error(self, exc: Exception, model: str, *, elapsed: float) -> Exception:
        """Map SDK failures (after its retries) to our errors; anything already ours passes through."""
        details: dict[str, Any] = {"provider": self.provider, "model": model}
        retries = self._settings.max_retries
        if isinstance(exc, openai.APITimeoutError):
            return UpstreamError(
                f"LLM request to {self.provider} timed out (timeout {self._settings.timeout_seconds}s, "
                f"{retries} retries, {elapsed:.1f}s in all)",
                code="llm_timeout",
                details=details,
            )
        if isinstance(exc, openai.APIStatusError):
            details["status"] = exc.status_code
            code = {401: "llm_auth_failed", 403: "llm_auth_failed", 429: "llm_rate_limited"}
            # The SDK retries these statuses (and timeouts); anything else fails on the first answer.
            retryable = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            retried = f" after {retries} retries" if retryable else ""
            return UpstreamError(
                f"LLM provider {self.provider} answered HTTP {exc.status_code}{retried} for model {model}: "
                f"{_provider_message(exc)}",
                code=code.get(exc.status_code, "llm_upstream_error"),
                details=details,
            )
        if isinstance(exc, openai.APIConnectionError):
            return UpstreamError(
                f"could not reach LLM provider {self.provider}: {exc.__cause__ or exc}",
                code="llm_unreachable",
                details=details,
            )
        if isinstance(exc, openai.OpenAIError):
            return UpstreamError(f"LLM call to {self.provider} failed: {exc}", details=details)
        if isinstance(exc, json.JSONDecodeError):
            # A 200 whose content type says JSON but whose body is not: the SDK's parse fails.
            return UpstreamError(
                f"LLM provider {self.provider} answered HTTP 200 for model {model} with a body that is not "
                f"valid JSON ({exc.msg} at character {exc.pos})",
                code="llm_bad_response",
                details=details,
            )
        return exc

    def _invalid_output(self, log: _CallLog, problem: str) -> LLMOutputInvalidError:
        return LLMOutputInvalidError(
            f"{self.provider} model {log.model} returned invalid output for {log.name!r} twice "
            f"(after one repair attempt): {problem}",
            details={"provider": self.provider, "model": log.model, "problem": problem},
        )

    def _structured_result(self, log: _CallLog, value: T, *, attempts: int) -> StructuredResult[T]:
        log.output = value.model_dump(mode="json")
        return StructuredResult(
            value=value,
            model=log.model,
            usage=log.usage,
            attempts=attempts,
            repaired=attempts > 1,
            trace_id=log.trace_id,
        )

    def _record(self, log: _CallLog, messages: Sequence[ChatMessage]) -> None:
        if log.trace_id is None:
            return
        self._tracer.record(
            TraceRecord(
                trace_id=log.trace_id,
                name=log.name,
                timestamp=log.started,
                input=[{"role": m.role, "content": m.content} for m in messages],
                output=log.output,
                metadata=log.metadata,
                generations=list(log.generations),
            )
        )


def _wire(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _response_format(name: str, output_type: type[T]) -> ResponseFormatJSONSchema:
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name(name), "strict": True, "schema": strict_json_schema(output_type)},
    }


def _usage(completion: ChatCompletion) -> LLMUsage:
    usage = completion.usage
    if usage is None:
        return LLMUsage()
    cost = (usage.model_extra or {}).get("cost")
    return LLMUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )


def _provider_message(exc: openai.APIStatusError) -> str:
    # The SDK unwraps `{"error": {...}}` into `body`; OpenRouter and OpenAI both put a `message` there.
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    text = exc.response.text
    try:
        json.loads(text)
    except ValueError:
        # Not the API speaking: most likely a proxy, CDN or load balancer in front of it.
        described = _describe_text(text, content_type=exc.response.headers.get("content-type", ""))
        return f"{described} instead of the API's JSON error (a proxy or CDN in front of the provider?)"
    return exc.message


def _describe_text(text: str, *, content_type: str = "") -> str:
    """What a body that is not the API's JSON looks like, for an error message."""
    start = text.lstrip()[:64].lower()
    if "html" in content_type.lower() or start.startswith(("<!doctype html", "<html")):
        title = _HTML_TITLE.search(text)
        return f"an HTML page ({_snippet(title.group(1))!r})" if title else "an HTML page"
    if not text.strip():
        return "an empty body"
    return f"a non-JSON body: {_snippet(text)!r}"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else f"{flat[:_SNIPPET]}..."


def _generation(
    log: _CallLog,
    payload: list[ChatCompletionMessageParam],
    *,
    reply: _Reply,
    started: datetime,
    error: str | None,
) -> GenerationRecord:
    attempt = len(log.generations) + 1
    return GenerationRecord(
        name=log.name if attempt == 1 else f"{log.name} (repair)",
        model=reply.model,
        input=[{"role": str(m["role"]), "content": str(m.get("content", ""))} for m in payload],
        output=reply.content,
        usage=reply.usage,
        start_time=started,
        end_time=datetime.now(UTC),
        model_parameters={"temperature": log.temperature},
        metadata={**log.metadata, "attempt": attempt},
        error=error,
    )
