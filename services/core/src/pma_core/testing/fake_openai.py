"""A loopback fake of an OpenAI-compatible API (OpenRouter flavour) and of Langfuse's ingestion API.

It runs a real HTTP server (FastAPI under uvicorn, in a background thread, on a free 127.0.0.1 port),
so tests drive the real `openai` SDK and `httpx` through their real code paths: retries, Retry-After,
timeouts, status-code exceptions, base64/float embeddings. It answers in the real wire format and
fails the way the real services fail (401 for a bad key, 429 with Retry-After, 5xx, slow answers,
400 for a non-strict `json_schema`), and the way the path to them fails: an HTML error page from a CDN
or proxy (`fail_html`), a plain-text error (`fail_text`), a 200 that is not JSON (`reply_raw`) or not a
completion (`reply_body`), a connection dropped without an answer (`drop_connection`), an answer cut off
at max_tokens (`reply_truncated`). Each call consumes the next scripted step of its endpoint; with
no step left, chat answers `default_chat_content` and embeddings are deterministic hashing vectors.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import SecretStr

from pma_core.embedders.hashing import HashingEmbedder
from pma_core.settings import EmbeddingSettings, LangfuseSettings, LLMSettings
from pma_core.testing import fake_openai_wire as wire
from pma_core.testing.threaded_server import DroppedConnection, LoopbackFake

Endpoint = Literal["chat", "embeddings", "ingestion"]
_PATHS: dict[Endpoint, str] = {
    "chat": "/v1/chat/completions",
    "embeddings": "/v1/embeddings",
    "ingestion": "/api/public/ingestion",
}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it (header names lower-cased, body parsed as JSON).

    `received_at` is `time.monotonic()` at arrival: the gaps between retries show the client's backoff.
    """

    endpoint: Endpoint
    headers: Mapping[str, str]
    body: Any
    received_at: float = field(default_factory=time.monotonic)


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass(frozen=True, slots=True)
class _Step:
    status: int = 200
    content: str | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: Mapping[str, float] | None = None
    model: str | None = None
    finish_reason: str = "stop"
    # Sent as is instead of the endpoint's JSON (with `status` and `content_type`): pages, junk.
    raw: str | None = None
    content_type: str = "application/json"
    # A 200 with this JSON body instead of a completion (e.g. one without `choices`).
    json_body: Any = None
    # Hang up without answering.
    drop: bool = False


class FakeOpenAIServer(LoopbackFake):
    """Context manager: `with FakeOpenAIServer() as fake: ... fake.base_url ...`."""

    def __init__(
        self,
        *,
        api_key: str = "sk-or-v1-fake-test-key",
        langfuse_public_key: str = "pk-lf-fake",
        langfuse_secret_key: str = "sk-lf-fake",
        embedding_dimension: int = 64,
        default_chat_content: str = "{}",
    ) -> None:
        self.api_key = api_key
        self.langfuse_public_key = langfuse_public_key
        self.langfuse_secret_key = langfuse_secret_key
        self._defaults = (embedding_dimension, default_chat_content)
        self.embedding_dimension = embedding_dimension
        self.default_chat_content = default_chat_content
        # False mimics a model that ignores the `dimensions` parameter.
        self.honour_dimensions = True
        # OpenRouter-style `usage.cost` per token, returned when the request asks `usage.include`.
        self.cost_per_token = 1e-6
        self._lock = threading.Lock()
        self._scripts: dict[Endpoint, deque[_Step]] = {name: deque() for name in _PATHS}
        self._requests: list[RecordedRequest] = []
        self._ingested: list[dict[str, Any]] = []
        self._embedders: dict[int, HashingEmbedder] = {}
        # Bumped by `reset()`: a delayed answer from before a reset must not leak into the next test.
        self._epoch = 0
        # Set (from the server's loop) on `stop()` to cut scripted delays short.
        self._stop_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    server_name = "fake-openai"

    def app(self) -> FastAPI:
        return _build_app(self)

    def start(self) -> Self:
        self._stop_event = self._loop = None
        return super().start()

    def stop(self) -> None:
        """Stop serving; a scripted delay in progress is cut short."""
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        super().stop()

    def reset(self) -> None:
        """Forget scripts, recordings and changed options (the fixture calls it between tests)."""
        with self._lock:
            for script in self._scripts.values():
                script.clear()
            self._requests.clear()
            self._ingested.clear()
            self._epoch += 1
        self.embedding_dimension, self.default_chat_content = self._defaults
        self.honour_dimensions = True
        self.cost_per_token = 1e-6

    @property
    def port(self) -> int:
        """The loopback port the server listens on."""
        if self._http is None:
            raise RuntimeError("the fake OpenAI server is not running")
        return self._http.port

    @property
    def root_url(self) -> str:
        """The server's origin, e.g. the Langfuse `host`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (ends in `/v1`)."""
        return f"{self.root_url}/v1"

    def llm_settings(self, **overrides: Any) -> LLMSettings:
        """LLM settings for this fake: its key, small timeout, one retry; `overrides` win."""
        values: dict[str, Any] = {
            "base_url": self.base_url, "api_key": SecretStr(self.api_key), "model": "fake/chat-model",
            "timeout_seconds": 2.0, "max_retries": 1, "allow_model_requests": False,
        }  # fmt: skip
        return LLMSettings.model_validate({**values, **overrides})

    def embedding_settings(self, **overrides: Any) -> EmbeddingSettings:
        """Embedding settings for this fake (provider `openai`, its key); `overrides` win."""
        values: dict[str, Any] = {
            "provider": "openai", "base_url": self.base_url, "api_key": SecretStr(self.api_key),
            "model": "fake/embedding-model", "timeout_seconds": 2.0,
        }  # fmt: skip
        return EmbeddingSettings.model_validate({**values, **overrides})

    def langfuse_settings(self, **overrides: Any) -> LangfuseSettings:
        """Langfuse settings whose host is this fake, with its keys; `overrides` win."""
        values: dict[str, Any] = {
            "host": self.root_url, "public_key": self.langfuse_public_key,
            "secret_key": SecretStr(self.langfuse_secret_key), "timeout_seconds": 1.0,
        }  # fmt: skip
        return LangfuseSettings.model_validate({**values, **overrides})

    def reply_json(self, obj: Any, **options: Any) -> None:
        """Next chat call answers `obj` serialised as the message content.

        Options: `usage` ({"prompt_tokens", "completion_tokens"[, "cost"]}), `model`, `finish_reason`,
        `delay` (seconds before answering).
        """
        self.reply_text(json.dumps(obj), **options)

    def reply_text(self, text: str, **options: Any) -> None:
        """Next chat call answers `text` as the message content (e.g. invalid JSON)."""
        self._push("chat", _Step(content=text, **options))

    def fail(
        self,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        endpoint: Endpoint = "chat",
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> None:
        """Next call of `endpoint` answers `status` with an OpenRouter-style error body.

        A 429 carries `Retry-After: 0` unless `retry_after` says otherwise. Note the SDK only honours
        a positive Retry-After: with 0 it backs off ~0.5 s, so fast tests pass e.g. `retry_after=0.01`.
        """
        all_headers = dict(headers or {})
        if retry_after is not None or status == 429:
            all_headers.setdefault("Retry-After", f"{retry_after or 0:g}")
        error_body = body if body is not None else wire.error_body(status, f"fake {status} error")
        self._push(endpoint, _Step(status=status, body=error_body, headers=all_headers, delay=delay))

    def fail_html(
        self,
        status: int = 502,
        *,
        endpoint: Endpoint = "chat",
        title: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Next call of `endpoint` answers `status` with an HTML error page, as a CDN or proxy in front of
        the provider does (e.g. Cloudflare's "502 Bad Gateway"); `retry_after` as for `fail`."""
        heading = title or f"{status} {_REASONS.get(status, 'Error')}"
        page = (
            f"<!DOCTYPE html>\n<html><head><title>{heading}</title></head>\n"
            f"<body><center><h1>{heading}</h1></center><hr><center>cloudflare</center></body></html>\n"
        )
        content_type = "text/html; charset=utf-8"
        self.reply_raw(page, status=status, content_type=content_type, endpoint=endpoint, retry_after=retry_after)

    def fail_text(
        self,
        status: int = 500,
        text: str = "Internal Server Error",
        *,
        endpoint: Endpoint = "chat",
        retry_after: float | None = None,
    ) -> None:
        """Next call of `endpoint` answers `status` with a plain-text (non-JSON) body."""
        content_type = "text/plain; charset=utf-8"
        self.reply_raw(text, status=status, content_type=content_type, endpoint=endpoint, retry_after=retry_after)

    def reply_raw(
        self,
        body: str,
        *,
        status: int = 200,
        content_type: str = "application/json",
        endpoint: Endpoint = "chat",
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> None:
        """Next call of `endpoint` answers `body` verbatim with `status`, e.g. a 200 that is not JSON at
        all, whatever its `content_type` claims. `retry_after` sends a `Retry-After` header."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        step = _Step(status=status, raw=body, content_type=content_type, headers=headers, delay=delay)
        self._push(endpoint, step)

    def reply_body(self, obj: Any, *, endpoint: Endpoint = "chat") -> None:
        """Next call of `endpoint` answers 200 with `obj` as the whole JSON body, e.g. a completion
        without `choices` (`{"id": ..., "object": "chat.completion"}`) or an error object sent with 200."""
        self._push(endpoint, _Step(json_body=obj))

    def drop_connection(self, *, endpoint: Endpoint = "chat", delay: float = 0.0) -> None:
        """Next call of `endpoint` gets no answer: the server closes the connection (after `delay`)."""
        self._push(endpoint, _Step(drop=True, delay=delay))

    def reply_truncated(self, obj: Any, *, keep: float = 0.5, **options: Any) -> None:
        """Next chat call answers `obj` serialised but cut off after the fraction `keep` of its text,
        mid-JSON, with `finish_reason: "length"`: the model hit max_tokens. Options as `reply_json`."""
        text = json.dumps(obj)
        cut = max(1, min(len(text) - 1, int(len(text) * keep)))
        self.reply_text(text[:cut], **{"finish_reason": "length", **options})

    def delay(self, seconds: float, *, endpoint: Endpoint = "chat") -> None:
        """Next call of `endpoint` waits `seconds`, then answers its default (to provoke timeouts)."""
        self._push(endpoint, _Step(delay=seconds))

    def pending(self, endpoint: Endpoint = "chat") -> int:
        """Scripted steps not consumed yet."""
        with self._lock:
            return len(self._scripts[endpoint])

    @property
    def requests(self) -> list[RecordedRequest]:
        """OpenAI-API requests (chat and embeddings), in arrival order, including rejected ones."""
        with self._lock:
            return [r for r in self._requests if r.endpoint != "ingestion"]

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """`POST /v1/chat/completions` requests, in order."""
        return [r for r in self.requests if r.endpoint == "chat"]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        """`POST /v1/embeddings` requests, in order."""
        return [r for r in self.requests if r.endpoint == "embeddings"]

    @property
    def ingestion_requests(self) -> list[RecordedRequest]:
        """Langfuse ingestion requests, including rejected ones."""
        with self._lock:
            return [r for r in self._requests if r.endpoint == "ingestion"]

    @property
    def ingested_events(self) -> list[dict[str, Any]]:
        """Langfuse events accepted so far (each `{"id", "timestamp", "type", "body"}`)."""
        with self._lock:
            return list(self._ingested)

    def _push(self, endpoint: Endpoint, step: _Step) -> None:
        with self._lock:
            self._scripts[endpoint].append(step)

    def _next_step(self, endpoint: Endpoint) -> _Step:
        with self._lock:
            script = self._scripts[endpoint]
            return script.popleft() if script else _Step()

    def _record(self, endpoint: Endpoint, request: Request, *, body: Any) -> int:
        """Record the request; returns the epoch it arrived in."""
        with self._lock:
            self._requests.append(RecordedRequest(endpoint, dict(request.headers), body))
            return self._epoch

    async def _sleep(self, seconds: float) -> None:
        # Waits on an event rather than sleeping, so that `stop()` is not held up by a long delay.
        if seconds <= 0:
            return
        if self._stop_event is None:
            self._stop_event, self._loop = asyncio.Event(), asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)

    def _authorised(self, endpoint: Endpoint, headers: Mapping[str, str]) -> bool:
        given = headers.get("authorization", "")
        if endpoint == "ingestion":
            pair = f"{self.langfuse_public_key}:{self.langfuse_secret_key}".encode()
            return secrets.compare_digest(given, "Basic " + base64.b64encode(pair).decode())
        return secrets.compare_digest(given, f"Bearer {self.api_key}")

    def _chat_body(self, request: Mapping[str, Any], step: _Step) -> dict[str, Any]:
        return wire.chat_completion(
            request,
            content=step.content if step.content is not None else self.default_chat_content,
            model=step.model,
            finish_reason=step.finish_reason,
            usage=step.usage,
            cost_per_token=self.cost_per_token,
        )

    def _embeddings_body(self, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        size = request.get("dimensions") if self.honour_dimensions else None
        size = int(size or self.embedding_dimension)
        embedder = self._embedders.setdefault(size, HashingEmbedder(size))
        return wire.embeddings_response(request, vectorize=embedder.vectorize)

    def _ingestion_body(self, request: Mapping[str, Any], *, epoch: int) -> dict[str, Any]:
        accepted, body = wire.ingestion_response(request)
        with self._lock:
            if epoch == self._epoch:
                self._ingested.extend(accepted)
        return body


def _build_app(fake: FakeOpenAIServer) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def handle(endpoint: Endpoint, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(wire.invalid_request("request body is not valid JSON"), status_code=400)
        epoch = fake._record(endpoint, request, body=body)
        if not fake._authorised(endpoint, request.headers):
            message = "No auth credentials found" if "authorization" not in request.headers else "User not found."
            return JSONResponse(wire.error_body(401, message), status_code=401)
        problem = wire.strict_schema_problem(body.get("response_format")) if endpoint == "chat" else None
        if problem:
            return JSONResponse(wire.invalid_request(problem), status_code=400)
        step = fake._next_step(endpoint)
        await fake._sleep(step.delay)
        if step.drop:
            return DroppedConnection()
        if step.raw is not None:
            return Response(step.raw, status_code=step.status, media_type=step.content_type, headers=dict(step.headers))
        if step.json_body is not None:
            return JSONResponse(step.json_body, status_code=step.status)
        if step.status != 200:
            return JSONResponse(step.body, status_code=step.status, headers=dict(step.headers))
        if endpoint == "chat":
            return JSONResponse(fake._chat_body(body, step), headers=dict(step.headers))
        if endpoint == "embeddings":
            status, payload = fake._embeddings_body(body)
            return JSONResponse(payload, status_code=status)
        return JSONResponse(fake._ingestion_body(body, epoch=epoch), status_code=207)

    for name, path in _PATHS.items():
        app.add_api_route(path, _route(handle, name), methods=["POST"])
    return app


def _route(handle: Any, endpoint: Endpoint) -> Any:
    async def route(request: Request) -> Response:
        response: Response = await handle(endpoint, request)
        return response

    return route
