"""pytest plugin (entry point `pytest11`): network guard and real-server fixtures."""

from __future__ import annotations

import os

import pytest

from pma_core.testing.network import NetworkGuard

_guard = NetworkGuard()


def pytest_configure(config: pytest.Config) -> None:
    # Forbid real model calls in tests: only loopback fakes may answer.
    os.environ.setdefault("LLM_ALLOW_MODEL_REQUESTS", "false")
    os.environ.setdefault("PMA_ENVIRONMENT", "test")
    _guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _guard.uninstall()
