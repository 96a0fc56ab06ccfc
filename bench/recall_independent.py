"""Recall quality of the independent labelled set as the store grows; prints one table per size.

    uv run --frozen python bench/recall_independent.py [--per-user 70,2550]

The independent set (services/memory-gateway/tests/quality/independent_set.py: 48 queries written without
looking at recall's answers, 4 users) is stored through a real gateway, then the tuned set's distractor
generator (labelled_set.py) adds memories per user up to each `--per-user` size in turn (70 is the test's
small store; 2,550 per user makes 10,200 distractors, the size test_recall_quality.py measures past ten
thousand), and every query is recalled after each step. Embedded stack in a temporary directory (Postgres,
Valkey, embedded Qdrant, the offline hashing embedder), the gateway in a uvicorn child process of its own.
Not a test: test_recall_independent.py measures the small store only, to keep CI short.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from harness import ints, progress, start_datastores, start_service

from pma_core.clients import MemoryGatewayClient
from pma_core.embedded.process import free_port, stop_process

QUALITY = Path(__file__).resolve().parents[1] / "services/memory-gateway/tests/quality"


def load(name: str) -> ModuleType:
    """A data module of the quality tests (tests are not a package, so it is loaded by path)."""
    spec = importlib.util.spec_from_file_location(name, QUALITY / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name} from {QUALITY}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


async def run(url: str, sizes: list[int]) -> list[str]:
    tuned, independent = load("labelled_set"), load("independent_set")
    tables: list[str] = []
    client = MemoryGatewayClient(url, timeout=60.0, retries=0)
    try:
        labels = await independent.remember_set(client)
        stored = 0
        for size in sizes:
            started = time.perf_counter()
            await independent.remember_noise(client, tuned.distractors, start=stored, stop=size)
            progress(f"{size:,} distractors per user loaded in {time.perf_counter() - started:.1f}s")
            stored = size
            run = await independent.measure(client, labels)
            if run.leaks:
                raise AssertionError(f"another user's memory came back: {run.leaks}")
            total = len(independent.MEMORIES) + size * len(independent.USERS)
            tables.append(run.table(f"independent set, {size:,} distractors per user ({total:,} memories)"))
    finally:
        await client.aclose()
    return tables


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as name:
        root = Path(name)
        datastores = start_datastores(root)
        gateway = None
        try:
            port = free_port()
            gateway = start_service(
                "memory_gateway.main:app_from_env", port=port, env=datastores.env, root=root,
                log_name="gateway.log", profile=None, timeout=120.0,
            )  # fmt: skip
            tables = asyncio.run(run(f"http://127.0.0.1:{port}", args.per_user))
        finally:
            if gateway is not None:
                stop_process(gateway, sig=signal.SIGTERM, timeout=60)
            datastores.stop()
    print("\n\n".join(tables))
    print(
        f"\ntotal {time.perf_counter() - started:.0f}s on {os.cpu_count()} CPUs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--per-user", type=ints, default=[70, 2_550], help="distractors per user at each step, ascending"
    )
    args = parser.parse_args()
    if args.per_user != sorted(args.per_user):
        parser.error("--per-user must be ascending")
    return args


if __name__ == "__main__":
    main(parse_args())
