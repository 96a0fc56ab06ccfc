"""The four Dockerfiles and .dockerignore: uv-workspace builds from the lock, non-root, healthchecked."""

from __future__ import annotations

import json
import re

import pytest
from deploy_files import (
    CONTAINER_PORT,
    DOCKERIGNORE,
    MIGRATIONS_DIR_IN_IMAGE,
    SERVICE_NAMES,
    SERVICES,
    Instruction,
    Service,
    by_service,
    dockerfile_stages,
    dockerfile_text,
    env_of_stage,
    final_stage,
    workspace_members,
)

# ---------------------------------------------------------------------------------------------
# Dockerfiles and .dockerignore
# ---------------------------------------------------------------------------------------------


def _runs(instructions: tuple[Instruction, ...]) -> list[str]:
    return [instruction.args for instruction in instructions if instruction.keyword == "RUN"]


@by_service
def test_dockerfile_builds_with_uv_from_the_lock(service: Service) -> None:
    stages = dockerfile_stages(service.name)
    assert {"uv", "builder"} <= set(stages)
    assert stages["uv"][0].args.startswith("ghcr.io/astral-sh/uv:")
    builder = stages["builder"]
    assert builder[0].args == "python:3.11-slim AS builder"
    assert any(i.keyword == "COPY" and i.args == "--from=uv /uv /uvx /bin/" for i in builder)

    syncs = [index for index, i in enumerate(builder) if i.keyword == "RUN" and "uv sync" in i.args]
    assert len(syncs) >= 2
    first, last = builder[syncs[0]], builder[syncs[-1]]
    # 1. Dependencies from the manifests and the lock only (layer caching), with uv's cache mounted.
    assert "--mount=type=cache,target=/root/.cache/uv" in first.args
    assert f"uv sync --frozen --no-install-workspace --package {service.name} --no-dev" in first.args
    copied = set()
    for instruction in builder[: syncs[0]]:
        if instruction.keyword == "COPY" and not instruction.args.startswith("--from"):
            copied |= set(instruction.args.split()[:-1])
    manifests = {f"services/{member}/pyproject.toml" for member in workspace_members()}
    assert copied == {"pyproject.toml", "uv.lock"} | manifests
    # 2. Then the sources, then the workspace packages themselves.
    sources = {i.args.split()[0] for i in builder[syncs[0] : syncs[-1]] if i.keyword == "COPY" and "src" in i.args}
    assert sources == {"services/core/src", f"services/{service.name}/src"}
    assert re.search(rf"uv sync --frozen --package {service.name} --no-dev( --inexact)?( |$)", last.args)
    assert all("uv sync" not in run or "--frozen" in run for run in _runs(builder))


@by_service
def test_dockerfile_runtime_stage(service: Service) -> None:
    runtime = final_stage(service.name)
    assert runtime[0].args == "python:3.11-slim AS runtime"
    keywords = [instruction.keyword for instruction in runtime]
    assert "RUN" in keywords  # creates the user
    users = [instruction.args for instruction in runtime if instruction.keyword == "USER"]
    assert users, "the runtime stage needs a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert [i.args for i in runtime if i.keyword == "EXPOSE"] == [str(CONTAINER_PORT)]

    copies = [instruction.args for instruction in runtime if instruction.keyword == "COPY"]
    assert "--from=builder /app/.venv /app/.venv" in copies
    assert f"--from=builder /app/services/{service.name}/src /app/services/{service.name}/src" in copies
    assert f"migrations {MIGRATIONS_DIR_IN_IMAGE}" in copies

    env = env_of_stage(runtime)
    assert env["POSTGRES_MIGRATIONS_DIR"] == MIGRATIONS_DIR_IN_IMAGE
    assert env["PMA_SERVICE_NAME"] == service.name
    assert env["PATH"].startswith("/app/.venv/bin:")

    [healthcheck] = [i.args for i in runtime if i.keyword == "HEALTHCHECK"]
    assert 'CMD ["python"' in healthcheck
    assert f"http://127.0.0.1:{CONTAINER_PORT}/healthz" in healthcheck

    [cmd] = [i.args for i in runtime if i.keyword == "CMD"]
    assert json.loads(cmd) == [
        "uvicorn",
        "--factory",
        f"{service.module}.main:app_from_env",
        "--host",
        "0.0.0.0",
        "--port",
        str(CONTAINER_PORT),
    ]


def test_memory_gateway_image_embeds_with_fastembed_offline() -> None:
    builder = dockerfile_stages("memory-gateway")["builder"]
    runs = " ".join(_runs(builder))
    assert "uv sync --frozen --no-install-workspace --package pma-core --extra fastembed --no-dev" in runs
    assert "TextEmbedding(" in runs, "the model is fetched at build time"
    build_env = env_of_stage(builder)
    runtime = final_stage("memory-gateway")
    env = env_of_stage(runtime)
    assert env["EMBEDDING_PROVIDER"] == "fastembed"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["FASTEMBED_CACHE_PATH"] == build_env["FASTEMBED_CACHE_PATH"]
    cache_path = env["FASTEMBED_CACHE_PATH"]
    assert not cache_path.startswith("/tmp"), "/tmp is an empty tmpfs at run time"
    copies = [i.args for i in runtime if i.keyword == "COPY"]
    assert f"--from=builder {cache_path} {cache_path}" in copies
    args = [i.args for i in runtime if i.keyword == "ARG"]
    assert "EMBEDDING_FASTEMBED_MODEL=BAAI/bge-small-en-v1.5" in args


@pytest.mark.parametrize("service", SERVICES[1:], ids=SERVICE_NAMES[1:])
def test_only_the_memory_gateway_image_has_fastembed(service: Service) -> None:
    assert "fastembed" not in dockerfile_text(service.name).lower()


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")}
    assert {".env", ".venv", ".pma-data", ".git", "**/__pycache__", "tests", "services/*/tests"} <= patterns
    # ... but not what the images are built from.
    needed = {"pyproject.toml", "uv.lock", "services", "services/*", "migrations", "*", "services/*/src"}
    assert not needed & patterns
