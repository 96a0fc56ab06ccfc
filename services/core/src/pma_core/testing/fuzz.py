"""Fuzz a served service from its own OpenAPI with schemathesis: every operation, every check, seeded.

The CLI runs in a subprocess (awaited, so the service under test keeps serving in the test's event
loop) against the real app on a loopback port, the way a client generated from the schema would call
it. `make test` runs a small, seeded example count per operation; `make fuzz` a longer run with the
coverage phase too (`PMA_FUZZ_EXAMPLES`, `PMA_FUZZ_SEED`, `PMA_FUZZ_PHASES`). A failure prints
schemathesis's own report, with the curl line that reproduces each finding.

Configuration: `fuzz.toml` beside this module (what holds for every service) followed by the service's own
`tests/fuzz.toml`. Both hold only `[[operations]]` entries, each saying which rule it is for: a rule JSON
Schema cannot state (one field compared with another) lets that operation answer 422 to data the schema
alone calls valid. Nothing else is relaxed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

DEFAULT_EXAMPLES = 8
DEFAULT_SEED = 20261201


@dataclass(frozen=True)
class FuzzRun:
    """What one schemathesis run answered: its exit code and everything it printed."""

    exit_code: int
    output: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


# make test: random and stateful generation, seeded. The coverage phase (every schema keyword's boundary and
# negative values, deterministic) takes two thirds of a run: `make fuzz` adds it (PMA_FUZZ_PHASES).
DEFAULT_PHASES = "examples,fuzzing,stateful"


def fuzz_phases() -> str:
    return os.environ.get("PMA_FUZZ_PHASES", DEFAULT_PHASES)


def examples_per_operation() -> int:
    return int(os.environ.get("PMA_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


def fuzz_seed() -> int:
    return int(os.environ.get("PMA_FUZZ_SEED", DEFAULT_SEED))


CORE_CONFIG = Path(__file__).with_name("fuzz.toml")


def _command(base_url: str, config: Path) -> list[str]:
    executable = Path(sys.executable).with_name("schemathesis")
    return [
        str(executable),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(examples_per_operation()),
        "--seed",
        str(fuzz_seed()),
        "--phases",
        fuzz_phases(),
        # One worker: the service under test shares this machine's two cores with the test process.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        # Nothing written beside the checkout: no example database, no report directory.
        "--generation-database",
        "none",
        "--no-color",
    ]


def _write_config(directory: Path, service_config: Path | None) -> Path:
    texts = [CORE_CONFIG.read_text()] + ([service_config.read_text()] if service_config else [])
    config = directory / "schemathesis.toml"
    config.write_text("\n".join(texts))
    return config


async def fuzz(base_url: str, *, service_config: Path | None = None) -> FuzzRun:
    """Run schemathesis against the service at `base_url` and return its exit code and report."""
    with TemporaryDirectory(prefix="pma-fuzz-") as scratch:
        config = _write_config(Path(scratch), service_config)
        process = await asyncio.create_subprocess_exec(
            *_command(base_url, config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=scratch,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "SCHEMATHESIS_HOOKS": "pma_core.testing.fuzz_hooks"},
        )
        output, _ = await process.communicate()
        return FuzzRun(exit_code=await process.wait(), output=output.decode(errors="replace"))
