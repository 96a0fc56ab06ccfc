"""The switch that forbids real model calls, shared by the LLM client and the remote embedder.

With `LLM_ALLOW_MODEL_REQUESTS=false` (the test plugin sets it) only a base URL on this machine (a
loopback fake, a local model server) may be called; anything else is refused before any network I/O,
so a misconfigured test can never spend money or leak data to a real provider.
"""

from __future__ import annotations

from pma_core.errors import AppError
from pma_core.net import is_loopback_host, is_loopback_url, url_host

__all__ = [
    "ModelRequestsForbiddenError",
    "ensure_model_requests_allowed",
    "is_loopback_host",
    "is_loopback_url",
    "url_host",
]


class ModelRequestsForbiddenError(AppError):
    """A model request to a non-loopback host while `LLM_ALLOW_MODEL_REQUESTS` is false."""

    status_code = 503
    code = "model_requests_forbidden"


def ensure_model_requests_allowed(base_url: str, *, allowed: bool, what: str = "model request") -> None:
    """Raise `ModelRequestsForbiddenError` when `allowed` is false and `base_url` leaves this machine.

    Called before any client is built or any request is sent: the refusal must not depend on the
    network guard of the test plugin, which only exists in tests.
    """
    if allowed or is_loopback_url(base_url):
        return
    raise ModelRequestsForbiddenError(
        f"{what} to {url_host(base_url) or base_url!r} refused: LLM_ALLOW_MODEL_REQUESTS is false, "
        "so only a loopback base URL (a local fake or model server) may be called",
        details={"base_url_host": url_host(base_url)},
    )
