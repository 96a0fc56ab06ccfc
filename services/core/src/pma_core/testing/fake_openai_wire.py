"""The wire format of the fake OpenAI-compatible and Langfuse APIs: response bodies and request checks.

Pure functions, kept apart from the server in `fake_openai` so that what the real services say (and
reject) is in one place.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_EMBEDDING_INPUTS = 2048


def chat_completion(
    request: Mapping[str, Any],
    *,
    content: str,
    model: str | None,
    finish_reason: str,
    usage: Mapping[str, float] | None,
    cost_per_token: float,
) -> dict[str, Any]:
    """A `chat.completion` object as OpenRouter returns it (with `provider` and `usage.cost`)."""
    prompt = " ".join(str(m.get("content", "")) for m in request.get("messages", []))
    counts: dict[str, float] = {"prompt_tokens": _tokens(prompt), "completion_tokens": _tokens(content)}
    counts.update(usage or {})
    counts["total_tokens"] = counts["prompt_tokens"] + counts["completion_tokens"]
    # OpenRouter reports the cost when the request asks for usage accounting.
    if (request.get("usage") or {}).get("include") and "cost" not in counts:
        counts["cost"] = round(counts["total_tokens"] * cost_per_token, 12)
    return {
        "id": f"gen-{secrets.token_hex(12)}", "object": "chat.completion", "created": int(time.time()),
        "model": model or request.get("model", "fake/chat-model"), "provider": "FakeProvider",
        "choices": [{
            "index": 0, "logprobs": None, "finish_reason": finish_reason,
            "native_finish_reason": finish_reason,
            "message": {"role": "assistant", "content": content, "refusal": None},
        }],
        "usage": counts,
    }  # fmt: skip


def embeddings_response(
    request: Mapping[str, Any], *, vectorize: Callable[[Sequence[str]], npt.NDArray[np.float32]]
) -> tuple[int, dict[str, Any]]:
    """Status and body of `POST /embeddings`: 400 for what OpenAI rejects, else the vectors."""
    inputs = request.get("input")
    inputs = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(inputs, list) or not inputs or len(inputs) > MAX_EMBEDDING_INPUTS:
        return 400, invalid_request("'$.input' is invalid: expected 1 to 2048 strings")
    if not all(isinstance(text, str) and text for text in inputs):
        return 400, invalid_request("'$.input' is invalid: empty strings are not allowed")
    as_base64 = request.get("encoding_format") == "base64"
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(row, as_base64=as_base64)}
        for i, row in enumerate(vectorize(inputs))
    ]
    tokens = sum(_tokens(text) for text in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return 200, {"object": "list", "data": data, "model": request.get("model"), "usage": usage}


def ingestion_response(request: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The accepted events and Langfuse's 207 body (`successes` / per-event `errors`)."""
    successes: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []
    for event in request.get("batch") or []:
        missing = [key for key in ("id", "timestamp", "type", "body") if key not in event]
        if missing:
            errors.append({"id": event.get("id", ""), "status": 400, "message": f"missing {missing}"})
            continue
        successes.append({"id": event["id"], "status": 201})
        accepted.append(event)
    return accepted, {"successes": successes, "errors": errors}


def strict_schema_problem(response_format: Any) -> str | None:
    """Why OpenAI would reject this strict `json_schema` response format, or None."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema") or {}
    if not spec.get("strict"):
        return None
    return _object_problem(spec.get("schema"), "schema")


def _object_problem(node: Any, path: str) -> str | None:
    if isinstance(node, list):
        return next((p for i, n in enumerate(node) if (p := _object_problem(n, f"{path}[{i}]"))), None)
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("properties"), dict):
        if node.get("additionalProperties") is not False:
            return f"Invalid schema for response_format: In context={path}, 'additionalProperties' is required to be supplied and to be false"  # noqa: E501
        if set(node.get("required") or []) != set(node["properties"]):
            return f"Invalid schema for response_format: In context={path}, 'required' is required to be supplied and to be an array including every key in properties"  # noqa: E501
    if "$ref" in node and len(node) > 1:
        return f"Invalid schema for response_format: In context={path}, $ref cannot have keywords"
    return next((p for k, v in node.items() if (p := _object_problem(v, f"{path}.{k}"))), None)


def error_body(status: int, message: str) -> dict[str, Any]:
    """An error body in OpenRouter's shape."""
    # OpenRouter's error shape: the SDK unwraps `error` into `APIStatusError.body`.
    return {"error": {"message": message, "code": status}}


def invalid_request(message: str) -> dict[str, Any]:
    """A 400 body in OpenAI's shape."""
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _encode(row: Any, *, as_base64: bool) -> Any:
    if as_base64:
        return base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode()
    return [float(x) for x in row]
