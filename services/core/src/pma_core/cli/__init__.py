"""The `pma` command: run the stack locally, apply migrations, create Qdrant collections."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer

from pma_core.cli.stack import (
    LocalStack,
    StackOptions,
    ignore_stop_signals,
    install_stop_signals,
    wait_for_stop_signal,
)
from pma_core.settings import (
    DEFAULT_DATA_DIR,
    CoreSettings,
    EmbeddingSettings,
    LLMSettings,
    PostgresSettings,
    QdrantSettings,
)

# The commands of core itself; any other is a service's (entry point group `pma.commands`).
CORE_COMMANDS = frozenset({"up", "migrate", "collections", "demo"})

app = typer.Typer(help="Planner & Memory: run and operate the services.", no_args_is_help=True)

DataDir = Annotated[Path, typer.Option(envvar="PMA_DATA_DIR", help="Where embedded data lives between runs.")]


@app.command()
def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    host: Annotated[str, typer.Option(help="Address the services listen on.")] = "127.0.0.1",
    postgres_port: Annotated[int, typer.Option(envvar="PMA_POSTGRES_PORT")] = 54320,
    valkey_port: Annotated[int, typer.Option(envvar="PMA_VALKEY_PORT")] = 63790,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every /readyz.")] = 60.0,
) -> None:
    """Start Postgres, Valkey, Qdrant (embedded unless configured) and the four services; Ctrl-C stops all."""
    started = time.monotonic()
    install_stop_signals()
    stack = LocalStack(StackOptions(data_dir.resolve(), host, postgres_port, valkey_port, ready_timeout))
    code = 1
    try:
        stack.start_datastores()
        applied = stack.prepare()
        typer.echo(f"migrations applied: {', '.join(applied) or 'none pending'}")
        _setup_collections_for_up(stack)
        stack.start_services(CoreSettings())
        ready = stack.wait_ready()
        _print_ready(stack, ready, time.monotonic() - started)
        code = wait_for_stop_signal(stack)
    except KeyboardInterrupt:
        code = 0  # stopped on request before the stack was ready
    finally:
        ignore_stop_signals()
        typer.echo("stopping...")
        stack.stop()
        typer.echo("stopped")
    raise typer.Exit(code)


def _setup_collections_for_up(stack: LocalStack) -> None:
    # The memory-gateway owns embedded Qdrant while it runs, so collections are made before it starts; by
    # `pma collections` in a process of its own, so that the supervisor, which stays up as long as the
    # stack, never loads the embedder and the vector engine (tens of MB it would hold for nothing).
    path = stack.qdrant_path()
    env = os.environ | ({} if path is None else {"QDRANT_PATH": str(path)})
    done = subprocess.run(
        [sys.executable, "-m", "pma_core.cli", "collections"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"creating the Qdrant collections failed: {done.stderr.strip() or done.stdout.strip()}")
    created = [line.split() for line in done.stdout.splitlines() if line and not line.startswith("embedder ")]
    typer.echo("qdrant collections: " + ", ".join(f"{name} {status}" for status, name in created))


def _print_ready(stack: LocalStack, ready: dict[str, float], elapsed: float) -> None:
    typer.echo(f"\nready in {elapsed:.1f}s (data in {stack.options.data_dir}):")
    for service in stack.services:
        typer.echo(f"  {service.name:<17} {service.url}  (docs {service.url}/docs)")
    typer.echo(f"  postgres          {_redact(stack.env['POSTGRES_URL'])}")
    typer.echo(f"  valkey            {_redact(stack.env['VALKEY_URL'])}")
    typer.echo("press Ctrl-C to stop")


def _redact(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending SQL migrations to POSTGRES_URL (each exactly once; safe to run any time)."""
    from pma_core.migrations import MigrationError, default_migrations_dir, migrate

    settings = PostgresSettings()
    directory = settings.migrations_dir or default_migrations_dir()
    try:
        report = asyncio.run(migrate(settings.url.get_secret_value(), directory))
    except MigrationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for name in report.already_applied:
        typer.echo(f"already applied  {name}")
    for name in report.applied:
        typer.echo(f"applied          {name}")
    if not report.applied:
        typer.echo("nothing to apply")


@app.command("collections")
def collections_command(
    size: Annotated[int | None, typer.Option(help="Vector size; default: the configured embedder's.")] = None,
) -> None:
    """Create the Qdrant collections (QDRANT_URL, or embedded at QDRANT_PATH) idempotently."""
    from pma_core.cli.collections import embedder_dimension, ensure_collections
    from pma_core.vectors import VectorSizeMismatchError

    if size is None:
        name, size = asyncio.run(embedder_dimension(EmbeddingSettings(), LLMSettings()))
        typer.echo(f"embedder {name}: {size} dimensions")
    try:
        created = asyncio.run(ensure_collections(QdrantSettings(), size=size))
    except VectorSizeMismatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for collection, status in created.items():
        typer.echo(f"{status:<8} {collection}")


@app.command("demo")
def demo_command(
    forget: Annotated[
        bool, typer.Option("--forget", help="Delete the demo user's data from all four services.")
    ] = False,
    user: Annotated[str, typer.Option(help="The user id the demo writes under.")] = "demo",
) -> None:
    """The whole loop against a running `make dev` stack, no account needed: remember, plan, schedule on the ICS
    calendar, do a task, reflect, recall. Prints each step and the URLs to look at."""
    from rich.console import Console

    from pma_core.cli.demo import DemoError, demo_clients, forget_demo, run_demo
    from pma_core.errors import AppError

    settings = CoreSettings()
    console = Console()
    # Deleting a user is an admin operation: the operator's token (PMA_ADMIN_TOKEN, else PMA_API_TOKEN).
    token = settings.access.operator_token if forget else settings.access.outgoing_token

    async def go() -> None:
        async with demo_clients(settings.services, bearer_token=token) as clients:
            await (forget_demo(clients, console, user_id=user) if forget else run_demo(clients, console, user_id=user))

    try:
        asyncio.run(go())
    except (DemoError, AppError) as exc:  # a service down, or a step a service refused: its message says why
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def _register_service_commands() -> None:
    """Commands that services contribute (entry point group `pma.commands`), e.g. the gateway's `reindex`.

    Core never imports a service; a service installed alongside adds its commands here.
    """
    for entry in entry_points(group="pma.commands"):
        app.command(entry.name)(entry.load())


def main() -> None:
    # A service's commands import its whole app: `pma up`, whose process supervises the stack for as long as
    # it runs, and core's other commands leave them unloaded (`pma --help` lists them all).
    if sys.argv[1:2] not in ([name] for name in CORE_COMMANDS):
        _register_service_commands()
    app()
