"""The layering every service keeps: its domain imports no web framework, no driver, no SDK and none of its
own adapters, so the domain can be read, tested and changed without them (docs/architecture.md).

Every import statement of every `services/*/src/*/domain/*.py` is checked, at run time or under
TYPE_CHECKING or inside a function alike: a hidden import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_MODULES = sorted(ROOT.glob("services/*/src/*/domain/*.py"))

# Frameworks, drivers and SDKs: the adapters' business.
FORBIDDEN_PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "psycopg",
    "asyncpg",
    "httpx",
    "valkey",
    "redis",
    "qdrant_client",
    "qdrant_edge",
    "openai",
)
# Of the service's own package: what the domain is used by, never what it uses.
FORBIDDEN_OWN = ("adapters", "api", "deps", "main")
# Of pma_core, only the parts that load nothing heavy: contracts, errors, the clock, and the ports
# (`pma_core.vectors` itself loads qdrant-edge, `pma_core.llm` the openai SDK).
ALLOWED_CORE = (
    "pma_core.contracts",
    "pma_core.errors",
    "pma_core.clock",
    "pma_core.vectors.port",
    "pma_core.vectors.collections",
    "pma_core.llm.types",
    "pma_core.embedders.port",
)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _imported(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the module, relative ones resolved within `package`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from ..adapters import x, seen from <package>.domain.<module>
                base = f"{package}.domain".split(".")[: max(2 - node.level + 1, 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if module == package]
    return found


def layering_violations(source: str, package: str) -> list[str]:
    """What a domain module of `package` imports that it must not, as `line: module`."""
    violations = []
    for line, module in _imported(ast.parse(source), package):
        if _within(module, FORBIDDEN_PACKAGES):
            violations.append(f"{line}: {module} (a framework, driver or SDK)")
        elif _within(module, tuple(f"{package}.{part}" for part in FORBIDDEN_OWN)):
            violations.append(f"{line}: {module} (the service's own outer layer)")
        elif _within(module, ("pma_core",)) and not _within(module, ALLOWED_CORE):
            violations.append(f"{line}: {module} (import the port or types module instead)")
    return violations


def test_every_service_has_domain_modules_to_check() -> None:
    packages = {path.parents[1].name for path in DOMAIN_MODULES}
    assert {"memory_gateway", "planner_engine"} <= packages


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: str(p.relative_to(ROOT / "services")))
def test_a_domain_module_imports_no_outer_layer(path: Path) -> None:
    package = path.parents[1].name
    assert layering_violations(path.read_text(), package) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import fastapi", "fastapi"),
        ("from asyncpg.pool import Pool", "asyncpg.pool"),
        ("from memory_gateway.adapters.tables import MEMORIES", "memory_gateway.adapters.tables"),
        ("from memory_gateway import adapters", "memory_gateway.adapters"),
        ("from ..adapters.sessions import SessionStore", "memory_gateway.adapters.sessions"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from memory_gateway.deps import State", "deps"),
        ("def f():\n    from memory_gateway.adapters.tables import MEMORIES", "memory_gateway.adapters"),
        ("from pma_core.vectors import VectorFilter", "pma_core.vectors"),
        ("from pma_core.llm import LLMNotConfiguredError", "pma_core.llm"),
        ("from pma_core.cache import ValkeyCache", "pma_core.cache"),
    ],
)
def test_the_check_finds_each_kind_of_violation(source: str, found: str) -> None:
    (violation,) = layering_violations(source, "memory_gateway")
    assert found in violation


def test_the_check_allows_ports_contracts_and_the_domain_itself() -> None:
    source = """
from memory_gateway.domain.ports import MemoryStore
from .models import MemoryRow
from memory_gateway.settings import MemorySettings
from pma_core.vectors.port import VectorFilter
from pma_core.llm.types import LLMNotConfiguredError
from pma_core.contracts.memory import MemoryRead
import numpy as np
"""
    assert layering_violations(source, "memory_gateway") == []
