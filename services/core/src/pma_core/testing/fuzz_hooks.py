"""Schemathesis hooks of the fuzz runs (loaded by pma_core.testing.fuzz through SCHEMATHESIS_HOOKS).

One workaround, for schemathesis 4.32.5: a stateful link `$request.path.user_id` evaluates to the path
parameter as schemathesis stored it, already percent-encoded for the URL ("F%2B" for "F+"). Passed into a
query or body parameter, that encoding is sent as the value (the service then rightly refuses a user id
"F%2B", or sees another user). Decoding it passes the value the first request used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from schemathesis.specs.openapi.expressions import nodes

_evaluate = nodes.NonBodyRequest.evaluate


def _decoded_path_value(self: Any, output: Any) -> Any:
    value = _evaluate(self, output)
    return unquote(value) if self.location == "path" and isinstance(value, str) else value


nodes.NonBodyRequest.evaluate = _decoded_path_value  # type: ignore[method-assign]
