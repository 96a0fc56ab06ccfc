"""`.env.example` documents every variable the services and the compose file read, and nothing else.

The variables a service reads are derived from its root settings class (`<service module>.settings.Settings`)
and the settings objects nested in it, whichever module defines them (PostgresSettings, AccessSettings,
CloudflareAccessSettings... of `pma_core.settings`), aliases included (OPENROUTER_API_KEY). So a new
setting of any service without a line in `.env.example` fails here, and so does a line nothing reads.
`.env.example` is read as if it were the deployment's `.env`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from deploy_files import (
    ASSIGNMENT,
    ENV_EXAMPLE,
    OTHER_DOCUMENTED_NAMES,
    SECRET_NAME,
    SERVICE_NAMES,
    active_env,
    compose_variables,
    documented_names,
    env_example_entries,
    env_example_sections,
    env_names_of,
    service_env_names,
    settings_classes,
    settings_env_names,
)

import pma_core.settings
from pma_core.settings import HttpSettings

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


def test_each_service_reads_its_own_and_the_shared_variables() -> None:
    read = service_env_names()
    assert sorted(read) == sorted(SERVICE_NAMES)
    shared = {"POSTGRES_URL", "VALKEY_URL", "PMA_API_TOKEN", "CF_ACCESS_AUD", "LOG_LEVEL", "HTTP_MAX_BODY_BYTES"}
    own = {
        "memory-gateway": {"MEMORY_RRF_K", "MEM0_API_KEY", "QDRANT_URL", "EMBEDDING_PROVIDER", "OPENROUTER_API_KEY"},
        "planner-engine": {"PLANNER_RECALL_LIMIT", "LLM_API_KEY", "LANGFUSE_SECRET_KEY", "EMBEDDING_MODEL"},
        "scheduler-engine": {"SCHEDULER_NUM_WORKERS", "GOOGLE_CLIENT_ID", "GOOGLE_REFRESH_TOKEN"},
        "observer-agent": {"OBSERVER_POLL_SECONDS", "CODA_API_TOKEN", "CODA_COLUMN_KEY", "LLM_MODEL"},
    }
    for service, names in own.items():
        assert shared | names <= read[service], (service, sorted((shared | names) - read[service]))
    assert "QDRANT_URL" not in read["planner-engine"]  # only the gateway opens Qdrant
    # Everything the settings modules define is read by some service.
    assert settings_env_names() == set().union(*read.values())


def test_every_setting_is_documented_in_env_example() -> None:
    documented = documented_names()
    missing = {service: sorted(names - documented) for service, names in service_env_names().items()}
    assert not any(missing.values()), f"add these to .env.example, each with a one-line comment: {missing}"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    variables = compose_variables()
    assert {"PMA_DOMAIN", "TRAEFIK_CERT_RESOLVER", "QDRANT_URL"} <= variables
    missing = variables - documented_names()
    assert not missing, f"add these to .env.example: {sorted(missing)}"


def test_env_example_documents_nothing_unknown() -> None:
    known = set().union(*service_env_names().values()) | compose_variables() | OTHER_DOCUMENTED_NAMES
    unknown = documented_names() - known
    assert not unknown, f"nothing reads these (stale or misspelt): {sorted(unknown)}"


def test_the_deployment_section_holds_exactly_what_only_compose_reads() -> None:
    read_by_services = set().union(*service_env_names().values())
    compose_only = (documented_names() & compose_variables()) - read_by_services
    assert {"PMA_DOMAIN", "TRAEFIK_CERT_RESOLVER", "VALKEY_MEM_LIMIT"} <= compose_only
    assert env_example_sections()["Deployment (read by docker-compose.yml only)"] == compose_only


def test_a_section_for_one_service_holds_only_what_that_service_reads() -> None:
    read = service_env_names()
    checked = 0
    for title, names in env_example_sections().items():
        for service in (s for s in SERVICE_NAMES if f"{s} only" in title):
            checked += 1
            assert names <= read[service], (title, sorted(names - read[service]))
            others = {name for other in SERVICE_NAMES if other != service for name in names & read[other]}
            assert not others, (title, f"also read by other services: {sorted(others)}")
    assert checked >= 5  # Qdrant, memory tuning, mem0, planner, scheduler, observer


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
