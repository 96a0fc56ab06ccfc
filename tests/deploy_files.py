"""Readers of the deployment files (compose, the Dockerfile, .env.example, Traefik) and of the settings
classes, shared by the tests that hold those files to what the services need."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
# The one Dockerfile of the four services, built with --build-arg SERVICE=<name> (Service.build_args).
DOCKERFILE = ROOT / "services" / "Dockerfile"
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
    budget_mib: int  # its container's memory limit: the proposal's budget, or the measured need where it is more
    fastembed: bool = False  # embeds locally: its image has the fastembed extra and the model

    @property
    def build_args(self) -> dict[str, str]:
        """The --build-arg values of its image (docker-compose.yml's `build.args`)."""
        args = {"SERVICE": self.name}
        if self.fastembed:
            args["FASTEMBED"] = "true"
        return args


SERVICES = (
    # The proposal budgets 150 MB; fastembed, its model and a loaded store need ~300 (docs/deployment.md).
    Service("memory-gateway", "memory_gateway", "memory", 8101, 384, fastembed=True),
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


_RULE = re.compile(r"^# -{20,}$")


def env_example_sections() -> dict[str, set[str]]:
    """.env.example's sections (the title between two `# ----` rules) and the names documented in each."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    titles = {  # 1-based line of the title -> the title
        index + 2: lines[index + 1].removeprefix("# ").strip()
        for index in range(len(lines) - 2)
        if _RULE.match(lines[index]) and _RULE.match(lines[index + 2])
    }
    sections: dict[str, set[str]] = {}
    for entry in env_example_entries():
        above = [line for line in titles if line < entry.line_no]
        sections.setdefault(titles[max(above)] if above else "", set()).add(entry.name)
    return sections


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


BuildArgs = tuple[tuple[str, str], ...]  # hashable, for the caches

# Instructions whose arguments the builder itself expands ($NAME from ARG and ENV); RUN is expanded by
# the shell at build time (rendered here for the plain $NAME / ${NAME} forms only, which is all that
# /bin/sh shares with Docker); CMD and HEALTHCHECK are not expanded at all.
_EXPANDED_BY_DOCKER = {
    "ADD",
    "ARG",
    "COPY",
    "ENV",
    "EXPOSE",
    "FROM",
    "LABEL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
}
_DOCKER_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\+|//)(?P<word>.*))?")
_SHELL_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def _expand(text: str, scope: dict[str, str], *, shell: bool = False) -> str:
    """Docker's variable expansion against the ARGs and ENVs in scope; a name not in scope (say PATH,
    from the base image) stays as written, so a stage that forgot its `ARG SERVICE` keeps `${SERVICE}`
    and fails the tests' comparisons."""

    def replace(match: re.Match[str]) -> str:
        if match.group("plain"):
            name = match.group("plain")
            return scope.get(name, match.group(0))
        braced = _BRACED.fullmatch(match.group("braced"))
        assert braced, f"a variable expansion these readers do not know: {match.group(0)}"
        name, operator, word = braced.group("name", "op", "word")
        if name not in scope:
            return match.group(0)
        value = scope[name]
        if operator == ":-":
            return value or word
        if operator == ":+":
            return word if value else ""
        if operator == "//":
            pattern, _, replacement = word.partition("/")
            return value.replace(pattern, replacement)
        return value

    return (_SHELL_VARIABLE if shell else _DOCKER_VARIABLE).sub(replace, text)


def _logical_lines() -> list[str]:
    lines = [line for line in dockerfile_text().splitlines() if not line.strip().startswith("#")]
    logical = re.sub(r"\\\n", " ", "\n".join(lines))
    return [line.strip() for line in logical.splitlines() if line.strip()]


@cache
def dockerfile_stages(build_args: BuildArgs | None = None) -> dict[str, tuple[Instruction, ...]]:
    """Stage name (the `AS` name, or its index) -> its instructions, comments and continuations folded.

    Without build_args the instructions are as written. With them (`service_stages`), they are as the
    builder sees them: ARG and ENV values expanded with Docker's scoping (an ARG before the first
    FROM serves FROM lines only; each stage sees only its own ARGs and ENVs), RUN as its shell would.
    """
    given = dict(build_args or ())
    global_args: dict[str, str] = {}
    scope: dict[str, str] = {}
    stages: dict[str, list[Instruction]] = {"preamble": []}
    current = "preamble"
    for line in _logical_lines():
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = " ".join(args.split())
        if build_args is not None:
            if keyword == "FROM":
                args = _expand(args, global_args)
            elif keyword in _EXPANDED_BY_DOCKER:
                args = _expand(args, scope)
            elif keyword == "RUN":
                args = _expand(args, scope, shell=True)
        instruction = Instruction(keyword, args)
        if keyword == "FROM":
            parts = args.split()
            current = parts[-1] if len(parts) >= 3 and parts[-2].upper() == "AS" else str(len(stages))
            stages[current] = []
            scope = {}
        elif keyword == "ARG":
            name, has_default, default = args.partition("=")
            if current == "preamble":
                global_args[name] = given.get(name, default)
            else:
                scope[name] = given.get(name, default if has_default else global_args.get(name, ""))
        elif keyword == "ENV":
            scope.update(env_of_stage((instruction,)))
        stages[current].append(instruction)
    return {stage: tuple(instructions) for stage, instructions in stages.items()}


def service_stages(service: Service) -> dict[str, tuple[Instruction, ...]]:
    """The Dockerfile as built for one service (its `build_args`)."""
    return dockerfile_stages(tuple(sorted(service.build_args.items())))


@cache
def dockerfile_text() -> str:
    return DOCKERFILE.read_text()


def final_stage(service: Service) -> tuple[Instruction, ...]:
    return list(service_stages(service).values())[-1]


def declared_args() -> set[str]:
    """Every ARG the Dockerfile declares, in any stage (what a --build-arg may set)."""
    return {
        instruction.args.partition("=")[0]
        for instructions in dockerfile_stages().values()
        for instruction in instructions
        if instruction.keyword == "ARG"
    }


# `if [ "$FASTEMBED" = true ]; then ...; fi` once $FASTEMBED is rendered.
_FLAG_BRANCH = re.compile(r'if \[ "(?P<value>[^"]*)" = true \]; then (?P<body>.*?);? fi')


def effective_runs(instructions: tuple[Instruction, ...]) -> list[str]:
    """The rendered RUN commands with each `if [ "<flag>" = true ]; then ...; fi` resolved: the body
    when the flag is true, nothing when it is not."""

    def resolve(match: re.Match[str]) -> str:
        return match.group("body") if match.group("value") == "true" else "true"

    return [_FLAG_BRANCH.sub(resolve, i.args) for i in instructions if i.keyword == "RUN"]


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
    """What the settings classes of `pma_core.settings` and of the services' settings modules read."""
    names: set[str] = set()
    for cls in settings_classes():
        names |= env_names_of(cls)
    return names


def service_settings_class(service: Service) -> type[BaseSettings]:
    """The service's root settings (`<module>.settings.Settings`); a service that cannot be imported fails."""
    cls = importlib.import_module(f"{service.module}.settings").Settings
    if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
        raise TypeError(f"{service.module}.settings.Settings is not a pydantic-settings class")
    return cls


def env_names_read_by(cls: type[BaseSettings]) -> set[str]:
    """Every variable `cls` reads, through its nested settings objects (each with its own prefix), whichever
    module defines them (e.g. PostgresSettings and AccessSettings of pma_core.settings under CoreSettings)."""
    names = env_names_of(cls)
    for field in cls.model_fields.values():
        for nested in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(nested, type) and issubclass(nested, BaseSettings):
                names |= env_names_read_by(nested)
    return names


def service_env_names() -> dict[str, set[str]]:
    """Per service (compose name), the variables its settings read."""
    return {service.name: env_names_read_by(service_settings_class(service)) for service in SERVICES}


def compose_variables() -> set[str]:
    return {match.group(1) for match in COMPOSE_VARIABLE.finditer(COMPOSE_FILE.read_text())}
