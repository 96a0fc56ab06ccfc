"""docker-compose.yml and traefik/dynamic.yml, checked without a Docker engine.

`${VAR:-default}` substitutions resolve from `.env.example` the way `docker compose` resolves them.
`docker compose config` runs too when the compose CLI plugin is installed: it needs no engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from deploy_files import (
    COMPOSE_FILE,
    CONTAINER_PORT,
    DOCKERFILE,
    ENV_EXAMPLE,
    EXTERNAL_NETWORK,
    INTERNAL_NETWORK,
    MIB,
    MIGRATIONS_DIR_IN_IMAGE,
    ROOT,
    SERVICE_NAMES,
    SERVICES,
    VALKEY_BUDGET_MIB,
    Service,
    active_env,
    by_service,
    compose,
    compose_service,
    compose_variables,
    declared_args,
    documented_names,
    environment_of,
    final_stage,
    healthcheck_command,
    interpolate,
    labels_of,
    networks_of,
    parse_bytes,
    traefik_middlewares,
)

from pma_core.settings import HttpSettings

# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------


def test_compose_declares_valkey_and_the_four_services() -> None:
    assert set(compose()["services"]) == {"valkey", *SERVICE_NAMES}


@by_service
def test_service_is_built_from_the_one_dockerfile_with_its_build_args(service: Service) -> None:
    spec = compose_service(service.name)
    # SERVICE names the service; FASTEMBED=true for the memory-gateway only (Service.build_args).
    assert spec["build"] == {"context": ".", "dockerfile": "services/Dockerfile", "args": service.build_args}
    assert (ROOT / spec["build"]["context"]).resolve() == ROOT
    assert (ROOT / spec["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert DOCKERFILE.is_file()
    # A misspelt argument would be ignored by the build (with a warning only).
    assert set(spec["build"]["args"]) <= declared_args()
    assert interpolate(spec["image"]) == f"pma/{service.name}:latest"


def test_each_service_builds_its_own_image() -> None:
    built = [compose_service(name)["build"]["args"]["SERVICE"] for name in SERVICE_NAMES]
    assert built == SERVICE_NAMES
    with_fastembed = [name for name in SERVICE_NAMES if compose_service(name)["build"]["args"].get("FASTEMBED")]
    assert with_fastembed == ["memory-gateway"]


@by_service
def test_embedding_provider_matches_the_image(service: Service) -> None:
    """The image sets no EMBEDDING_PROVIDER (one Dockerfile for all): the memory-gateway gets fastembed
    from compose, unless .env picks another; the others keep the provider their settings pick."""
    env = environment_of(compose_service(service.name))
    if service.fastembed:
        assert env["EMBEDDING_PROVIDER"].startswith("${EMBEDDING_PROVIDER:-"), ".env must still override it"
        assert interpolate(env["EMBEDDING_PROVIDER"]) == "fastembed"
    else:
        assert "EMBEDDING_PROVIDER" not in env, "only an image built with FASTEMBED=true has fastembed"


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"not a duration in seconds: {duration!r}"
    return int(match.group(1))


@by_service
def test_healthcheck_start_period(service: Service) -> None:
    """Compose keeps one start period per service (the model load makes the memory-gateway's longer);
    the Dockerfile's single value covers the longest, for an image run outside compose."""
    compose_period = _seconds(compose_service(service.name)["healthcheck"]["start_period"])
    assert compose_period == (90 if service.fastembed else 60)
    [healthcheck] = [i.args for i in final_stage(service) if i.keyword == "HEALTHCHECK"]
    match = re.search(r"--start-period=(\S+)", healthcheck)
    assert match, healthcheck
    assert _seconds(match.group(1)) == 90 >= compose_period


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
    for name in ("planner-engine", "scheduler-engine"):
        assert compose_service(name)["depends_on"] == {"valkey": healthy, "memory-gateway": healthy}, name
    # The observer's reflections are made of the planner's and the scheduler's records.
    assert compose_service("observer-agent")["depends_on"] == dict.fromkeys(
        ("valkey", "memory-gateway", "planner-engine", "scheduler-engine"), healthy
    )


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
        pytest.skip(
            "`docker compose config` not run, so compose's own parsing of docker-compose.yml is unchecked: "
            "no `docker` with the compose plugin on PATH (install docker-compose-plugin, or put a docker that has "
            "it first on PATH)"
        )
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
        assert spec["build"]["args"] == service.build_args
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
