"""What build_app adds to a service's generated OpenAPI, so a client generated from it is not surprised.

- Every operation takes a bearer token (needed once PMA_API_TOKEN is set); the public paths need none.
- Every operation with a body may answer 400 (a body that is not JSON).
- No string may hold the NUL character, which Postgres cannot store (the edge refuses it with a 422,
  pma_core.app.nul): every free-text string says so with a pattern, and every free-form JSON object
  (metadata, payloads) with a JSON value type whose strings and keys carry the same pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pma_core.app.schemas import ErrorRead

NO_NUL_PATTERN = "^[^\\u0000]*$"
JSON_VALUE = "JsonValue"
_JSON_VALUE_REF = f"#/components/schemas/{JSON_VALUE}"
_METHODS = {"get", "put", "post", "delete", "patch", "options", "head"}

# A JSON value without NUL anywhere: what a free-form object's values are.
_JSON_VALUE_SCHEMA: dict[str, Any] = {
    "title": JSON_VALUE,
    "description": "Any JSON value; no string or key may contain the NUL character (\\u0000).",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": _JSON_VALUE_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": {"$ref": _JSON_VALUE_REF},
        },
    ],
}


def declare_bearer_auth(schema: dict[str, Any], public: Iterable[str]) -> None:
    public_paths = set(public)
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "One of PMA_API_TOKEN's tokens; required on every operation once it is set.",
    }
    for path, operation in _operations(schema):
        operation["security"] = [] if path in public_paths else [{"bearerAuth": []}, {}]


def declare_bad_body(schema: dict[str, Any]) -> None:
    """A body that is not JSON is a 400 (FastAPI's own parsing), on every operation that takes one."""
    ref = {"$ref": f"#/components/schemas/{ErrorRead.__name__}"}
    for _, operation in _operations(schema):
        if "requestBody" in operation:
            operation.setdefault("responses", {}).setdefault(
                "400",
                {"description": "The body is not valid JSON", "content": {"application/json": {"schema": ref}}},
            )


def declare_no_nul(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for component in list(components.values()):
        _refine(component)
    for _, operation in _operations(schema):
        _refine(operation.get("parameters", []))
        _refine(operation.get("requestBody", {}))
    components[JSON_VALUE] = _JSON_VALUE_SCHEMA


def _operations(schema: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, operation


def _refine(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _refine(item)
        return
    if not isinstance(node, dict):
        return
    if _is_free_text(node):
        node["pattern"] = NO_NUL_PATTERN
    if _is_free_form_object(node):
        node["propertyNames"] = {"pattern": NO_NUL_PATTERN}
        node["additionalProperties"] = {"$ref": _JSON_VALUE_REF}
    for key, value in node.items():
        if key != "examples":  # examples are data, not schemas
            _refine(value)


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")  # a schema's type; in a `properties` map, "type" may name a field instead
    if isinstance(declared, str):
        return {declared}
    return {t for t in declared if isinstance(t, str)} if isinstance(declared, list) else set()


def _is_free_text(node: dict[str, Any]) -> bool:
    # A pattern, format, enum or const already rules NUL out (or is a format NUL can never match).
    return "string" in _types(node) and not {"pattern", "format", "enum", "const"} & node.keys()


def _is_free_form_object(node: dict[str, Any]) -> bool:
    return (
        "object" in _types(node)
        and "properties" not in node
        and node.get("additionalProperties", True) in (True, {})
        and "propertyNames" not in node
    )
