"""services/Dockerfile (one file, built per service with --build-arg SERVICE=<name>) and .dockerignore:
uv-workspace builds from the lock, non-root, healthchecked.

Each service's image is checked as the builder renders the file with that service's build args
(`Service.build_args`, the ones docker-compose.yml passes: test_compose.py holds it to them).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from deploy_files import (
    CONTAINER_PORT,
    DOCKERFILE,
    DOCKERIGNORE,
    MIGRATIONS_DIR_IN_IMAGE,
    ROOT,
    SERVICES,
    Instruction,
    Service,
    by_service,
    declared_args,
    dockerfile_stages,
    dockerfile_text,
    effective_runs,
    env_of_stage,
    final_stage,
    service_stages,
    workspace_members,
)
from uvicorn.main import main as uvicorn_cli

DEFAULT_FASTEMBED_MODEL = "BAAI/bge-small-en-v1.5"

# ---------------------------------------------------------------------------------------------
# One file for the four services
# ---------------------------------------------------------------------------------------------


def _args(instructions: tuple[Instruction, ...]) -> list[str]:
    return [instruction.args for instruction in instructions if instruction.keyword == "ARG"]


def test_one_dockerfile_builds_every_service() -> None:
    assert DOCKERFILE.is_file()
    assert not sorted((ROOT / "services").glob("*/Dockerfile")), "the per-service Dockerfiles are gone"
    assert {"SERVICE", "FASTEMBED"} <= declared_args()
    header = dockerfile_text().split("\nARG ", 1)[0]
    for service in SERVICES:
        build_args = " ".join(f"--build-arg {name}={value}" for name, value in service.build_args.items())
        command = f"docker build -f services/Dockerfile {build_args} -t pma/{service.name}:latest ."
        assert command in header, f"the header should show how to build {service.name}: {command}"


def test_service_is_a_required_build_arg_and_fastembed_a_checked_flag() -> None:
    builder = dockerfile_stages()["builder"]
    runtime = dockerfile_stages()["runtime"]
    assert "SERVICE" in _args(builder), "no default: an image of no service must not build"
    assert "SERVICE" in _args(runtime), "the runtime stage needs its own ARG SERVICE"
    assert "FASTEMBED=false" in _args(builder)
    [first_run, *_] = [i.args for i in builder if i.keyword == "RUN"]
    assert 'if [ -z "$SERVICE" ]; then' in first_run
    assert 'case "$FASTEMBED" in true|false) ;;' in first_run


def test_run_commands_use_only_what_sh_expands() -> None:
    # ${SERVICE//-/_} and the like are Dockerfile (and bash) syntax; RUN's /bin/sh (dash) rejects them.
    for stage, instructions in dockerfile_stages().items():
        for run in (i.args for i in instructions if i.keyword == "RUN"):
            assert not re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*[^A-Za-z0-9_}]", run), (stage, run)


# ---------------------------------------------------------------------------------------------
# Each service's image
# ---------------------------------------------------------------------------------------------


@by_service
def test_dockerfile_builds_with_uv_from_the_lock(service: Service) -> None:
    assert "UV_VERSION=0.13.9" in _args(dockerfile_stages()["preamble"])
    assert dockerfile_stages()["uv"][0].args == "ghcr.io/astral-sh/uv:${UV_VERSION} AS uv"
    stages = service_stages(service)
    assert {"uv", "builder"} <= set(stages)
    assert stages["uv"][0].args == "ghcr.io/astral-sh/uv:0.13.9 AS uv"
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
    # 2. Then the sources, then the workspace packages themselves (--inexact keeps the extras).
    sources = {i.args.split()[0] for i in builder[syncs[0] : syncs[-1]] if i.keyword == "COPY" and "src" in i.args}
    assert sources == {"services/core/src", f"services/{service.name}/src"}
    assert "--mount=type=cache,target=/root/.cache/uv" in last.args
    assert re.search(rf"uv sync --frozen --package {service.name} --no-dev --inexact( |$)", last.args)
    assert all("uv sync" not in run or "--frozen" in run for run in effective_runs(builder))
    # 3. The service's module imports.
    assert env_of_stage(builder)["PMA_APP_MODULE"] == service.module
    assert f'-c "import {service.module}, pma_core"' in effective_runs(builder)[-1]


@by_service
def test_dockerfile_runtime_stage(service: Service) -> None:
    runtime = final_stage(service)
    assert runtime[0].args == "python:3.11-slim AS runtime"
    runs = [instruction.args for instruction in runtime if instruction.keyword == "RUN"]
    assert any("useradd" in run and "--uid 10001" in run for run in runs), "creates the user pma, uid 10001"
    users = [instruction.args for instruction in runtime if instruction.keyword == "USER"]
    assert users, "the runtime stage needs a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert users[-1] == "pma"
    assert [i.args for i in runtime if i.keyword == "EXPOSE"] == [str(CONTAINER_PORT)]

    copies = [instruction.args for instruction in runtime if instruction.keyword == "COPY"]
    assert "--from=builder /app/.venv /app/.venv" in copies
    assert "--from=builder /app/services/core/src /app/services/core/src" in copies
    assert f"--from=builder /app/services/{service.name}/src /app/services/{service.name}/src" in copies
    assert f"migrations {MIGRATIONS_DIR_IN_IMAGE}" in copies

    env = env_of_stage(runtime)
    assert env["POSTGRES_MIGRATIONS_DIR"] == MIGRATIONS_DIR_IN_IMAGE
    assert env["PMA_SERVICE_NAME"] == service.name
    assert env["PMA_ENVIRONMENT"] == "production"
    assert env["PATH"].startswith("/app/.venv/bin:")

    [healthcheck] = [i.args for i in runtime if i.keyword == "HEALTHCHECK"]
    assert 'CMD ["python"' in healthcheck
    assert f"http://127.0.0.1:{CONTAINER_PORT}/healthz" in healthcheck

    # CMD cannot expand the build arg: the app comes from UVICORN_APP (next test), the rest is exec form.
    [cmd] = [i.args for i in runtime if i.keyword == "CMD"]
    assert json.loads(cmd) == ["uvicorn", "--factory", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    assert env["UVICORN_APP"] == f"{service.module}.main:app_from_env"


@by_service
def test_the_start_command_is_uvicorn_with_the_services_factory(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn, as installed from uv.lock, parses the image's CMD with the image's environment into
    `uvicorn --factory <module>.main:app_from_env --host 0.0.0.0 --port 8000`."""
    runtime = final_stage(service)
    [cmd] = [json.loads(i.args) for i in runtime if i.keyword == "CMD"]
    assert cmd[0] == "uvicorn"
    for name in [name for name in os.environ if name.startswith("UVICORN_")]:
        monkeypatch.delenv(name)
    for name, value in env_of_stage(runtime).items():
        if name.startswith("UVICORN_"):
            monkeypatch.setenv(name, value)
    params = uvicorn_cli.make_context("uvicorn", cmd[1:]).params
    assert params["app"] == f"{service.module}.main:app_from_env"
    assert params["factory"] is True
    assert (params["host"], params["port"]) == ("0.0.0.0", CONTAINER_PORT)


@by_service
def test_fastembed_only_in_the_images_built_with_it(service: Service) -> None:
    stages = service_stages(service)
    builder, runtime = stages["builder"], final_stage(service)
    runs = " ".join(effective_runs(builder))
    installs = "uv sync --frozen --no-install-workspace --package pma-core --extra fastembed --no-dev --inexact"
    if service.fastembed:
        assert installs in runs
        assert "TextEmbedding(" in runs, "the model is fetched at build time"
        assert '-c "import fastembed"' in runs
    else:
        assert "--extra fastembed" not in runs
        assert "TextEmbedding(" not in runs
        assert "import fastembed" not in runs

    # The model's directory exists in every image (empty without fastembed), so it is copied always.
    build_env, env = env_of_stage(builder), env_of_stage(runtime)
    cache_path = env["FASTEMBED_CACHE_PATH"]
    assert cache_path == build_env["FASTEMBED_CACHE_PATH"]
    assert not cache_path.startswith("/tmp"), "/tmp is an empty tmpfs at run time"
    assert f'mkdir -p "{cache_path}"' in runs
    copies = [i.args for i in runtime if i.keyword == "COPY"]
    assert f"--from=builder {cache_path} {cache_path}" in copies

    # Inert without fastembed, what the memory-gateway needs with it: offline, the baked-in model.
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["HF_HOME"].startswith("/tmp/")
    assert f"EMBEDDING_FASTEMBED_MODEL={DEFAULT_FASTEMBED_MODEL}" in _args(builder)
    assert f"EMBEDDING_FASTEMBED_MODEL={DEFAULT_FASTEMBED_MODEL}" in _args(runtime)
    assert env["EMBEDDING_FASTEMBED_MODEL"] == DEFAULT_FASTEMBED_MODEL
    # The provider would change the planner-engine's embedder: docker-compose.yml sets it, for the
    # memory-gateway only (test_compose.py).
    assert "EMBEDDING_PROVIDER" not in env


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")}
    assert {".env", ".venv", ".pma-data", ".git", "**/__pycache__", "tests", "services/*/tests"} <= patterns
    # ... but not what the images are built from.
    needed = {"pyproject.toml", "uv.lock", "services", "services/*", "migrations", "*", "services/*/src"}
    assert not needed & patterns
