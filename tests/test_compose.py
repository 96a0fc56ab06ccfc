"""The deployment files, checked without a Docker engine.

docker-compose.yml, the four Dockerfiles, .dockerignore, traefik/dynamic.yml and .env.example are
parsed and held to what the services and the VPS need. `.env.example` is read as if it were the
deployment's `.env`, so `${VAR:-default}` substitutions resolve the way `docker compose` resolves them.
The environment variables the services read are derived from the pydantic-settings classes (those of
`pma_core.settings` and of any `<service module>.settings`), so a new setting without a line in
`.env.example` fails here. `docker compose config` runs too when the compose CLI plugin is installed:
it needs no engine.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic_settings import BaseSettings

import pma_core.settings
from pma_core.settings import HttpSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
TRAEFIK_DYNAMIC = ROOT / "traefik" / "dynamic.yml"

EXTERNAL_NETWORK = "docker_syncbricks"
INTERNAL_NETWORK = "pma"
CONTAINER_PORT = 8000
MIB = 1024 * 1024
VALKEY_BUDGET_MIB = 200
MIGRATIONS_DIR_IN_IMAGE = "/app/migrations"


@dataclass(frozen=True)
class Service:
    name: str  # compose service, directory under services/ and uv package name
    module: str  # Python package
    subdomain: str  # Traefik routes <subdomain>.${PMA_DOMAIN}
    local_port: int  # port outside Docker
    budget_mib: int  # RAM budget from the proposal


SERVICES = (
    Service("memory-gateway", "memory_gateway", "memory", 8101, 150),
    Service("planner-engine", "planner_engine", "planner", 8102, 200),
    Service("scheduler-engine", "scheduler_engine", "scheduler", 8103, 150),
    Service("observer-agent", "observer_agent", "observer", 8104, 150),
)
SERVICE_NAMES = [service.name for service in SERVICES]
by_service = pytest.mark.parametrize("service", SERVICES, ids=SERVICE_NAMES)

# Names in .env.example that neither the settings classes nor the compose file read (none so far).
OTHER_DOCUMENTED_NAMES: frozenset[str] = frozenset()

SECRET_NAME = re.compile(r"(API_KEY|SECRET|PASSWORD|TOKEN)")
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


# ---------------------------------------------------------------------------------------------
# Loading and parsing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str
    active: bool  # False for a commented-out `# NAME=value` (the default in force)
    line_no: int
    previous_line: str


ASSIGNMENT = re.compile(r"^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$")


@cache
def env_example_entries() -> tuple[EnvEntry, ...]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    entries = []
    for index, line in enumerate(lines):
        match = ASSIGNMENT.match(line)
        if match:
            commented, name, value = match.groups()
            previous = lines[index - 1] if index else ""
            entries.append(EnvEntry(name, value, commented is None, index + 1, previous))
    return tuple(entries)


def documented_names() -> set[str]:
    return {entry.name for entry in env_example_entries()}


def active_env() -> dict[str, str]:
    return {entry.name: entry.value for entry in env_example_entries() if entry.active}


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def compose_service(name: str) -> dict[str, Any]:
    service = compose()["services"][name]
    assert isinstance(service, dict)
    return service


def interpolate(value: object) -> str:
    """Resolve `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against .env.example, as compose does."""
    env = active_env()

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if env.get(name):
            return env[name]
        if operator in (":-", "-"):
            return str(argument)
        raise AssertionError(f"${{{name}}} has neither a value in .env.example nor a default")

    return COMPOSE_VARIABLE.sub(replace, str(value))


def parse_bytes(size: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kmg]?)b?", size.strip().lower())
    assert match, f"not a size: {size!r}"
    number, unit = match.groups()
    return int(number) * {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[unit]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(key): str(value) for key, value in environment.items()}


def labels_of(service: dict[str, Any]) -> dict[str, str]:
    labels = service.get("labels", {})
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) for item in labels)
    return {str(key): str(value) for key, value in labels.items()}


def networks_of(service: dict[str, Any]) -> set[str]:
    networks = service.get("networks", [])
    return set(networks) if isinstance(networks, list) else set(networks.keys())


def healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


@cache
def traefik_middlewares() -> dict[str, Any]:
    data = yaml.safe_load(TRAEFIK_DYNAMIC.read_text())
    middlewares = data["http"]["middlewares"]
    assert isinstance(middlewares, dict)
    return middlewares


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@cache
def dockerfile_stages(name: str) -> dict[str, tuple[Instruction, ...]]:
    """Stage name (the `AS` name, or its index) -> its instructions, comments and continuations folded."""
    lines = [line for line in dockerfile_text(name).splitlines() if not line.strip().startswith("#")]
    logical = re.sub(r"\\\n", " ", "\n".join(lines))
    stages: dict[str, list[Instruction]] = {"preamble": []}
    current = "preamble"
    for line in logical.splitlines():
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        instruction = Instruction(keyword.upper(), " ".join(args.split()))
        if instruction.keyword == "FROM":
            parts = instruction.args.split()
            current = parts[-1] if len(parts) >= 3 and parts[-2].upper() == "AS" else str(len(stages))
            stages[current] = []
        stages[current].append(instruction)
    return {stage: tuple(instructions) for stage, instructions in stages.items()}


@cache
def dockerfile_text(name: str) -> str:
    return (ROOT / "services" / name / "Dockerfile").read_text()


def final_stage(name: str) -> tuple[Instruction, ...]:
    return list(dockerfile_stages(name).values())[-1]


def env_of_stage(instructions: tuple[Instruction, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for item in shlex.split(instruction.args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def workspace_members() -> list[str]:
    return sorted(path.parent.name for path in (ROOT / "services").glob("*/pyproject.toml"))


# ---------------------------------------------------------------------------------------------
# Environment variables the settings read
# ---------------------------------------------------------------------------------------------


def _settings_modules() -> list[str]:
    modules = ["pma_core.settings"]
    for service in SERVICES:
        if importlib.util.find_spec(service.module) and importlib.util.find_spec(f"{service.module}.settings"):
            modules.append(f"{service.module}.settings")
    return modules


def _all_subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    subclass: type[Any]
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _all_subclasses(subclass)


def settings_classes() -> list[type[BaseSettings]]:
    modules = _settings_modules()
    for module in modules:
        importlib.import_module(module)
    classes = {cls for cls in _all_subclasses(BaseSettings) if cls.__module__ in modules}
    return sorted(classes, key=lambda cls: (cls.__module__, cls.__qualname__))


def _is_nested_model(annotation: object) -> bool:
    candidates = [annotation, *typing.get_args(annotation)]
    return any(isinstance(item, type) and issubclass(item, BaseModel) for item in candidates)


def env_names_of(cls: type[BaseSettings]) -> set[str]:
    """The variables one settings class reads: env_prefix + field name, or the field's aliases."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        if _is_nested_model(field.annotation):
            continue  # a nested settings object (its own class has its own prefix)
        alias = field.validation_alias if field.validation_alias is not None else field.alias
        if alias is None:
            names.add(f"{prefix}{field_name}".upper())
            continue
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            first = choice.path[0] if isinstance(choice, AliasPath) else choice
            if isinstance(first, str):
                names.add(first.upper())
    return names


def settings_env_names() -> set[str]:
    names: set[str] = set()
    for cls in settings_classes():
        names |= env_names_of(cls)
    return names


def compose_variables() -> set[str]:
    return {match.group(1) for match in COMPOSE_VARIABLE.finditer(COMPOSE_FILE.read_text())}


# ---------------------------------------------------------------------------------------------
# .env.example
# ---------------------------------------------------------------------------------------------


def test_settings_introspection_sees_the_known_variables() -> None:
    names = settings_env_names()
    expected = {
        "POSTGRES_URL",
        "POSTGRES_MIGRATIONS_DIR",
        "VALKEY_URL",
        "VALKEY_KEY_PREFIX",
        "QDRANT_URL",
        "QDRANT_API_KEY",
        "QDRANT_PATH",
        "EMBEDDING_PROVIDER",
        "EMBEDDING_FASTEMBED_MODEL",
        "LLM_API_KEY",
        "OPENROUTER_API_KEY",
        "LANGFUSE_SECRET_KEY",
        "HTTP_MAX_BODY_BYTES",
        "MEMORY_GATEWAY_URL",
        "OBSERVER_AGENT_URL",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "PMA_SERVICE_NAME",
        "PMA_ENVIRONMENT",
    }
    assert expected <= names, expected - names
    # Nested settings objects are not variables, and an aliased field has no prefixed name.
    assert not {"PMA_POSTGRES", "PMA_VALKEY", "PMA_SERVICES", "LLM_OPENROUTER_API_KEY"} & names
    assert "LLM_API_KEY" in env_names_of(pma_core.settings.LLMSettings)


def test_every_setting_is_documented_in_env_example() -> None:
    missing = settings_env_names() - documented_names()
    assert not missing, f"add these to .env.example, each with a one-line comment: {sorted(missing)}"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    variables = compose_variables()
    assert {"PMA_DOMAIN", "TRAEFIK_CERT_RESOLVER", "QDRANT_URL"} <= variables
    missing = variables - documented_names()
    assert not missing, f"add these to .env.example: {sorted(missing)}"


def test_env_example_documents_nothing_unknown() -> None:
    known = settings_env_names() | compose_variables() | OTHER_DOCUMENTED_NAMES
    unknown = documented_names() - known
    assert not unknown, f"nothing reads these (stale or misspelt): {sorted(unknown)}"


def test_env_example_has_one_comment_per_variable_and_no_duplicates() -> None:
    entries = env_example_entries()
    names = [entry.name for entry in entries]
    assert len(names) == len(set(names)), sorted({name for name in names if names.count(name) > 1})
    for entry in entries:
        previous = entry.previous_line.strip()
        described = previous.startswith("# ") and not ASSIGNMENT.match(previous) and len(previous) > 3
        assert described, f".env.example line {entry.line_no}: {entry.name} needs a comment line above it"


def test_env_example_leaves_secrets_empty() -> None:
    secrets = [entry for entry in env_example_entries() if SECRET_NAME.search(entry.name)]
    assert {"OPENROUTER_API_KEY", "LLM_API_KEY", "QDRANT_API_KEY", "LANGFUSE_SECRET_KEY"} <= {
        entry.name for entry in secrets
    }
    assert [entry.name for entry in secrets if entry.value] == []
    postgres_url = active_env()["POSTGRES_URL"]
    assert not urlsplit(postgres_url).password, "POSTGRES_URL in .env.example must not carry a password"


def test_env_example_does_not_shadow_the_openrouter_key() -> None:
    # AliasChoices takes the first alias present: an empty LLM_API_KEY= would hide OPENROUTER_API_KEY.
    env = active_env()
    assert "OPENROUTER_API_KEY" in env
    assert "LLM_API_KEY" not in env


def test_env_example_values_validate(tmp_path: Path) -> None:
    # The active lines as they stand, then every documented default uncommented: both must validate.
    uncommented = "\n".join(f"{entry.name}={entry.value}" for entry in env_example_entries())
    for env_file in (ENV_EXAMPLE, tmp_path / "all.env"):
        if env_file != ENV_EXAMPLE:
            env_file.write_text(uncommented + "\n")
        for cls in settings_classes():
            if cls.__module__ == "pma_core.settings":
                cls(_env_file=env_file)


def test_env_example_agrees_with_the_images() -> None:
    env = {entry.name: entry.value for entry in env_example_entries()}
    # Set in .env, these would override what the images and compose set: they must stay commented out.
    for name in ("POSTGRES_MIGRATIONS_DIR", "EMBEDDING_PROVIDER", "PMA_SERVICE_NAME", "VALKEY_KEY_PREFIX"):
        assert name not in active_env(), f"{name} must stay commented out in .env.example"
    assert env["EMBEDDING_FASTEMBED_MODEL"] == "BAAI/bge-small-en-v1.5"
    assert env["HTTP_MAX_BODY_BYTES"] == str(HttpSettings.model_fields["max_body_bytes"].default)


# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------


def test_compose_declares_valkey_and_the_four_services() -> None:
    assert set(compose()["services"]) == {"valkey", *SERVICE_NAMES}


@by_service
def test_service_is_built_from_its_dockerfile_with_the_root_context(service: Service) -> None:
    spec = compose_service(service.name)
    assert spec["build"] == {"context": ".", "dockerfile": f"services/{service.name}/Dockerfile"}
    assert (ROOT / spec["build"]["context"]).resolve() == ROOT
    assert (ROOT / spec["build"]["dockerfile"]).is_file()
    assert interpolate(spec["image"]) == f"pma/{service.name}:latest"


@by_service
def test_service_runtime_options(service: Service) -> None:
    spec = compose_service(service.name)
    assert spec["env_file"] == [".env"]
    assert spec["restart"] == "unless-stopped"
    assert spec["read_only"] is True
    assert any(str(mount).split(":")[0] == "/tmp" for mount in spec["tmpfs"])
    assert "no-new-privileges:true" in spec["security_opt"]
    assert spec["cap_drop"] == ["ALL"]
    command = healthcheck_command(spec)
    assert f"http://127.0.0.1:{CONTAINER_PORT}/healthz" in command
    assert command.startswith("CMD python")


@by_service
def test_service_memory_limit_is_within_budget(service: Service) -> None:
    spec = compose_service(service.name)
    limit = parse_bytes(interpolate(spec["mem_limit"]))
    assert 64 * MIB <= limit <= service.budget_mib * MIB
    assert parse_bytes(interpolate(spec["memswap_limit"])) == limit, "no swap beyond the memory limit"


@by_service
def test_service_environment_points_inside_compose(service: Service) -> None:
    env = environment_of(compose_service(service.name))
    assert env["PMA_SERVICE_NAME"] == service.name
    assert interpolate(env["PMA_ENVIRONMENT"]) == "production"
    assert env["VALKEY_URL"] == "redis://valkey:6379/0"
    assert env["VALKEY_KEY_PREFIX"] == f"pma:{service.name}:"
    assert env["POSTGRES_MIGRATIONS_DIR"] == MIGRATIONS_DIR_IN_IMAGE
    for other in SERVICES:
        url_variable = other.module.upper() + "_URL"
        assert env[url_variable] == f"http://{other.name}:{CONTAINER_PORT}"
    assert "POSTGRES_URL" not in env, "POSTGRES_URL comes from .env (the existing server)"


def test_valkey_key_prefixes_are_distinct() -> None:
    prefixes = [environment_of(compose_service(name))["VALKEY_KEY_PREFIX"] for name in SERVICE_NAMES]
    assert len(set(prefixes)) == len(SERVICES)


def test_only_the_memory_gateway_gets_qdrant_variables() -> None:
    for name in SERVICE_NAMES:
        qdrant = {key for key in environment_of(compose_service(name)) if key.startswith("QDRANT_")}
        assert qdrant == ({"QDRANT_URL"} if name == "memory-gateway" else set()), name
    # The user's Qdrant server, required: never the embedded engine at QDRANT_PATH.
    qdrant_url = environment_of(compose_service("memory-gateway"))["QDRANT_URL"]
    assert qdrant_url.startswith("${QDRANT_URL:?")
    assert interpolate(qdrant_url) == "http://qdrant:6333"
    assert "QDRANT_PATH" not in COMPOSE_FILE.read_text()


def test_start_order_waits_for_healthy_dependencies() -> None:
    healthy = {"condition": "service_healthy"}
    assert compose_service("memory-gateway")["depends_on"] == {"valkey": healthy}
    for name in SERVICE_NAMES[1:]:
        assert compose_service(name)["depends_on"] == {"valkey": healthy, "memory-gateway": healthy}, name


def test_valkey_is_an_lru_cache_with_aof_inside_its_budget() -> None:
    valkey = compose_service("valkey")
    assert valkey["image"] == "valkey/valkey:8.1-alpine"
    command = [interpolate(part) for part in valkey["command"]]
    assert command[0] == "valkey-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--maxmemory-policy"] == "allkeys-lru"
    assert options["--appendonly"] == "yes"
    limit = parse_bytes(interpolate(valkey["mem_limit"]))
    assert limit <= VALKEY_BUDGET_MIB * MIB
    assert parse_bytes(options["--maxmemory"]) < limit, "maxmemory must leave room for Valkey itself"
    assert valkey["restart"] == "unless-stopped"
    assert healthcheck_command(valkey) == "CMD valkey-cli ping"
    assert any(str(volume).endswith(":/data") for volume in valkey["volumes"])
    assert networks_of(valkey) == {INTERNAL_NETWORK}, "Valkey stays off the shared network"
    assert not labels_of(valkey)


def test_no_service_publishes_ports_by_default() -> None:
    for name, spec in compose()["services"].items():
        assert "ports" not in spec, f"{name} publishes ports; Traefik routes to it instead"
    # ... and the comment tells how to publish the local ports for testing.
    text = COMPOSE_FILE.read_text()
    for service in SERVICES:
        assert f"127.0.0.1:{service.local_port}:{CONTAINER_PORT}" in text


def test_networks_internal_plus_the_external_traefik_network() -> None:
    networks = compose()["networks"]
    assert networks[EXTERNAL_NETWORK]["external"] is True
    assert networks[EXTERNAL_NETWORK].get("name", EXTERNAL_NETWORK) == EXTERNAL_NETWORK
    assert networks[INTERNAL_NETWORK].get("internal") is True
    for name in SERVICE_NAMES:
        assert networks_of(compose_service(name)) == {INTERNAL_NETWORK, EXTERNAL_NETWORK}, name


@by_service
def test_traefik_routes_the_hostname_to_port_8000(service: Service) -> None:
    labels = labels_of(compose_service(service.name))
    router = f"traefik.http.routers.pma-{service.subdomain}"
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.docker.network"] == EXTERNAL_NETWORK
    domain = active_env()["PMA_DOMAIN"]
    assert interpolate(labels[f"{router}.rule"]) == f"Host(`{service.subdomain}.{domain}`)"
    assert interpolate(labels[f"{router}.entrypoints"]) == "websecure"
    assert labels[f"{router}.tls"] == "true"
    resolver = labels[f"{router}.tls.certresolver"]
    assert resolver.startswith("${TRAEFIK_CERT_RESOLVER")
    assert interpolate(resolver) == active_env()["TRAEFIK_CERT_RESOLVER"]
    traefik_service = labels[f"{router}.service"]
    assert labels[f"traefik.http.services.{traefik_service}.loadbalancer.server.port"] == str(CONTAINER_PORT)
    # Exactly one router and one Traefik service per compose service.
    assert {key.split(".")[3] for key in labels if key.startswith("traefik.http.routers.")} == {
        f"pma-{service.subdomain}"
    }
    assert {key.split(".")[3] for key in labels if key.startswith("traefik.http.services.")} == {traefik_service}


@by_service
def test_router_middlewares_are_defined_in_the_dynamic_config(service: Service) -> None:
    labels = labels_of(compose_service(service.name))
    middlewares = labels[f"traefik.http.routers.pma-{service.subdomain}.middlewares"].split(",")
    assert {"pma-limits@file", "pma-headers@file"} <= set(middlewares)
    for middleware in middlewares:
        name, _, provider = middleware.partition("@")
        assert provider == "file", middleware
        assert name in traefik_middlewares(), f"{middleware} is not defined in traefik/dynamic.yml"


def test_the_four_hostnames_are_distinct() -> None:
    rules = set()
    for service in SERVICES:
        labels = labels_of(compose_service(service.name))
        rules.add(interpolate(labels[f"traefik.http.routers.pma-{service.subdomain}.rule"]))
    assert len(rules) == len(SERVICES)


# ---------------------------------------------------------------------------------------------
# traefik/dynamic.yml
# ---------------------------------------------------------------------------------------------


def test_body_limit_matches_the_services_limit() -> None:
    buffering = traefik_middlewares()["pma-limits"]["buffering"]
    assert buffering["maxRequestBodyBytes"] == 1_048_576
    assert buffering["maxRequestBodyBytes"] == HttpSettings.model_fields["max_body_bytes"].default


def test_security_headers() -> None:
    headers = traefik_middlewares()["pma-headers"]["headers"]
    assert headers["frameDeny"] is True
    assert headers["contentTypeNosniff"] is True
    assert headers["stsSeconds"] >= 15_552_000
    assert headers["referrerPolicy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["contentSecurityPolicy"]
    assert headers["customResponseHeaders"]["Server"] == ""


def test_rate_limit_tells_clients_apart_behind_cloudflare() -> None:
    rate_limit = traefik_middlewares()["pma-ratelimit"]["rateLimit"]
    assert rate_limit["average"] > 0
    assert rate_limit["burst"] >= rate_limit["average"]
    assert rate_limit["sourceCriterion"] == {"requestHeaderName": "CF-Connecting-IP"}


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


# ---------------------------------------------------------------------------------------------
# `docker compose config` (needs the CLI plugin, not an engine)
# ---------------------------------------------------------------------------------------------


@cache
def compose_cli() -> tuple[str, ...] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    try:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (docker, "compose") if probe.returncode == 0 else None


def run_compose_config(project: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    cli = compose_cli()
    if cli is None:
        pytest.skip("the docker CLI with the compose plugin is not installed: `docker compose config` not run")
    shutil.copy(COMPOSE_FILE, project / "docker-compose.yml")
    (project / ".env").write_text(env_text)
    # Only the project's .env may feed the substitutions, not this shell's variables.
    ours = documented_names() | compose_variables()
    env = {key: value for key, value in os.environ.items() if key not in ours}
    return subprocess.run(
        [*cli, "--project-directory", str(project), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    result = run_compose_config(tmp_path, ENV_EXAMPLE.read_text())
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert set(config["services"]) == {"valkey", *SERVICE_NAMES}
    domain = active_env()["PMA_DOMAIN"]
    for service in SERVICES:
        spec = config["services"][service.name]
        assert int(spec["mem_limit"]) == service.budget_mib * MIB
        assert "ports" not in spec
        assert spec["image"] == f"pma/{service.name}:latest"
        rule = spec["labels"][f"traefik.http.routers.pma-{service.subdomain}.rule"]
        assert rule == f"Host(`{service.subdomain}.{domain}`)"
        assert spec["environment"]["PMA_SERVICE_NAME"] == service.name
    assert config["networks"][EXTERNAL_NETWORK]["external"] is True
    assert int(config["services"]["valkey"]["mem_limit"]) == VALKEY_BUDGET_MIB * MIB


def test_docker_compose_config_requires_qdrant_url_and_domain(tmp_path: Path) -> None:
    for required in ("QDRANT_URL", "PMA_DOMAIN"):
        project = tmp_path / required.lower()
        project.mkdir()
        env_text = "".join(f"{name}={value}\n" for name, value in active_env().items() if name != required)
        result = run_compose_config(project, env_text)
        assert result.returncode != 0
        assert required in result.stderr
