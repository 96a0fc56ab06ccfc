"""Long-term memory on both in-process vector engines: qdrant-edge (the default) and qdrant-client's local
mode (the client code that also talks to a Qdrant server, over its pure-Python engine)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["edge", "qdrant-client-local"])
def vector_adapter(request: pytest.FixtureRequest) -> str:
    adapter: str = request.param
    return adapter
