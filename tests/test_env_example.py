"""`.env.example` documents every variable the services and the compose file read, and nothing else.

The variables the services read are derived from the pydantic-settings classes (those of
`pma_core.settings` and of any `<service module>.settings`), so a new setting without a line in
`.env.example` fails here. `.env.example` is read as if it were the deployment's `.env`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from deploy_files import (
    ASSIGNMENT,
    ENV_EXAMPLE,
    OTHER_DOCUMENTED_NAMES,
    SECRET_NAME,
    active_env,
    compose_variables,
    documented_names,
    env_example_entries,
    env_names_of,
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
