"""The edge of every request, as one pure ASGI middleware: request id, body size limit, metrics.

Pure ASGI (not BaseHTTPMiddleware) so streaming and background tasks are untouched and the context
variable holding the request id is visible to the handler.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pma_core.app.metrics import HttpMetrics
from pma_core.errors import PayloadTooLargeError, error_body
from pma_core.logging import (
    REQUEST_ID_HEADER,
    current_request_id,
    new_request_id,
    reset_request_id,
    set_request_id,
)

_log = logging.getLogger(__name__)

_REQUEST_ID_BYTES = REQUEST_ID_HEADER.lower().encode()


def scope_header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (the first, as latin-1), by its lower-case name; None when absent."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _valid_request_id(value: str | None) -> str:
    # A caller-supplied id is kept when it is short and printable; anything else gets a fresh one.
    if value and len(value) <= 128 and value.isprintable():
        return value
    return new_request_id()


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: HttpMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _valid_request_id(scope_header(scope, _REQUEST_ID_BYTES))
        token = set_request_id(request_id)
        started = time.perf_counter()
        status_holder = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_BYTES, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._serve(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(
                method=scope["method"],
                route=route,
                status=status_holder[0],
                seconds=time.perf_counter() - started,
            )
            reset_request_id(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        body_receive = await self._limited_receive(scope, receive)
        if body_receive is None:
            # Answered here, before routing: no handler runs, so the error is not raised but sent.
            error = _too_large(self.max_body_bytes)
            await send_json(send, error.status_code, error_body(error.code, error.message, error.details))
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body_receive, tracking_send)
        except Exception:
            # Answer in our error shape, with the request id, instead of a bare 500; a response that
            # already started cannot be replaced, so then the error goes up to the server.
            _log.exception("unhandled error")
            if response_started:
                raise
            body = error_body("internal_error", "internal server error", {"request_id": current_request_id()})
            await send_json(send, 500, body)

    async def _limited_receive(self, scope: Scope, receive: Receive) -> Receive | None:
        """The request's `receive`, or None when the body is over the limit (413 without reading it all)."""
        declared = scope_header(scope, b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                return None
            return receive
        # No declared length (chunked): buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay(b"".join(chunks))


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body is larger than the limit of {limit} bytes", details={"max_body_bytes": limit}
    )


async def send_json(
    send: Send, status: int, payload: dict[str, Any], extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A JSON answer sent from a middleware, before (or instead of) the app."""
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra_headers
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        return message

    return receive
