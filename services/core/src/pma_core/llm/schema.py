"""Structured output: the strict JSON schema sent, and parsing/repair of what comes back.

Turn a pydantic model's JSON schema into one that OpenAI's `strict` structured output accepts.

Strict mode rejects schemas where an object allows extra keys or leaves a property optional, and a
`$ref` that has sibling keys; pydantic emits all three. We fix them here rather than import the SDK's
private helper (`openai.lib._pydantic`), which may move between releases. Making every property
required is safe: pydantic still validates the reply, and fields with defaults simply get sent.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from pma_core.llm.types import T

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
# Some models wrap JSON in a Markdown fence even when asked for a JSON schema; the fence is harmless.
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def schema_name(name: str) -> str:
    """A `json_schema.name` the API accepts (`^[a-zA-Z0-9_-]{1,64}$`)."""
    return _NAME_UNSAFE.sub("_", name)[:64] or "output"


@functools.cache
def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, made acceptable to `strict: true` structured outputs.

    Cached per model (building it costs milliseconds on every call otherwise): treat it as read-only.
    """
    schema = copy.deepcopy(model.model_json_schema())
    return _strict(schema, root=schema)


def _strict(node: dict[str, Any], *, root: dict[str, Any]) -> dict[str, Any]:
    for defs_key in ("$defs", "definitions"):
        for sub in (node.get(defs_key) or {}).values():
            _strict(sub, root=root)
    if node.get("type") == "object":
        node.setdefault("additionalProperties", False)
    properties = node.get("properties")
    if isinstance(properties, dict):
        node["required"] = list(properties)
        node["properties"] = {key: _strict(value, root=root) for key, value in properties.items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _strict(node["items"], root=root)
    for combinator in ("anyOf", "allOf"):
        if isinstance(node.get(combinator), list):
            node[combinator] = [_strict(variant, root=root) for variant in node[combinator]]
    if "default" in node and node["default"] is None:
        # A nullable field keeps `null` in its type; the `None` default adds nothing and is rejected.
        del node["default"]
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # `{"$ref": ..., "description": ...}` is not allowed: inline the target, local keys win.
        merged = {**_resolve(ref, root), **{k: v for k, v in node.items() if k != "$ref"}}
        return _strict(copy.deepcopy(merged), root=root)
    return node


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref!r}: only local references are resolved")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    if not isinstance(target, dict):
        raise ValueError(f"$ref {ref!r} does not point at a schema object")
    return target


def parse_reply(content: str | None, output_type: type[T]) -> tuple[T | None, str]:
    """The validated value, or None and a short summary of what is wrong (for repair and errors)."""
    if content is None or not content.strip():
        return None, "the reply was empty"
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        return output_type.model_validate_json(text), ""
    except ValidationError as exc:
        return None, summarise_validation_error(exc)


def summarise_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """`loc: msg` of the first errors, short enough for a prompt and an error message."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:limit]]
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more


def repair_turns(bad_output: str | None, problem: str) -> list[ChatCompletionMessageParam]:
    """The turns appended for the one repair attempt: the bad reply, then what is wrong with it."""
    return [
        {"role": "assistant", "content": bad_output or ""},
        {
            "role": "user",
            "content": (
                f"That reply cannot be used: {problem}. Reply again with only the corrected JSON "
                "object, conforming exactly to the requested schema: no prose, no code fences."
            ),
        },
    ]
