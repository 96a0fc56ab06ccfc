"""Where the memory-gateway's memory goes as its store grows: resident set by kind of mapping; prints a table.

    uv run python bench/memory_footprint.py [--sizes 10000,50000,100000] [--users 10]

The embedded stack of bench/memory_recall.py (Postgres, Valkey, embedded Qdrant, offline hashing
embedder; the gateway in a uvicorn process of its own). At idle (after a few recalls), then after loading
each size with `remember/batch` and serving recalls, and last after restarting the gateway on the full
store, it reads the gateway's `/proc/PID/smaps` and splits the resident set into:

- anonymous memory (Python's heap, Rust allocations of the vector engine, thread stacks): what a container
  limit counts and the kernel cannot drop;
- Qdrant's files mapped into the process (vectors, payloads, id trackers, the HNSW graph once built):
  page cache, counted by a cgroup's limit too, but clean pages the kernel reclaims under pressure;
- the rest of the file mappings (shared libraries, the interpreter).

`--memory-limit MB` runs the gateway in a memory cgroup of that limit (cgroup v1 or v2, which must be
writable: root on a machine without systemd delegation), as `mem_limit` in docker-compose.yml does, and
adds the cgroup's own figures (what the limit counts: anonymous memory plus page cache, the mapped files
included) and whether the kernel had to reclaim or kill. Keep `TMPDIR` on a disk then: files in a tmpfs
such as /dev/shm are shared memory, which a cgroup cannot reclaim without swap.

`--deployed` runs the gateway as on the VPS instead (`QDRANT_URL` set, so qdrant-client is imported and
vectors live outside the process), against a port where nothing answers: remember keeps writing to
Postgres (the index is repaired later) and recall answers from full text, so the gateway shows its own
footprint under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from harness import Timed, ints, machine_note, post, progress, timed
from memory_cgroup import MemoryCgroup
from memory_recall import Memories, Stack, load, quality_set, recall_bodies

from pma_core.embedded.process import free_port
from pma_core.testing.resident import mappings

MB = 1_048_576


@dataclass(frozen=True)
class Footprint:
    stage: str
    memories: int
    rss: int
    anon: int
    qdrant_files: int
    other_files: int
    qdrant_disk: int
    # Resident bytes of Qdrant's mapped files by kind: the file's path under its segment, digits dropped.
    qdrant_by_kind: dict[str, int]
    recall_ms: tuple[float, float] = (float("nan"), float("nan"))  # p50, p95 of the recalls just served
    cgroup: dict[str, int] | None = None
    segments: str = ""  # each collection's segments on disk, with their vector bytes
    pss: int = 0  # the whole process's Pss: Rss with pages mapped more than once counted once

    def row(self, idle: Footprint | None) -> str:
        above = "-" if idle is None else f"{(self.rss - idle.rss) / MB:.0f}"
        anon_above = "-" if idle is None else f"{(self.anon - idle.anon) / MB:.0f}"
        per_10k = pss_per_10k = "-"
        if idle is not None and self.memories > idle.memories:
            tens = (self.memories - idle.memories) / 10_000
            per_10k = f"{(self.rss - idle.rss) / MB / tens:.1f}"
            pss_per_10k = f"{(self.pss - idle.pss) / MB / tens:.1f}"
        return (
            f"| {self.stage} | {self.memories:,} | {self.rss / MB:.0f} | {above} | {per_10k} | {self.pss / MB:.0f} "
            f"| {pss_per_10k} | {self.anon / MB:.0f} | {anon_above} | {self.qdrant_files / MB:.0f} "
            f"| {self.other_files / MB:.0f} | {self.qdrant_disk / MB:.0f} |"
        )


def footprint(pid: int, qdrant_dir: Path, *, stage: str, memories: int) -> Footprint:
    """The process's resident set split by mapping kind, from /proc/PID/smaps (Linux only)."""
    rss = anon = qdrant = other = pss = 0
    by_kind: dict[str, int] = {}
    prefix = str(qdrant_dir)
    for mapping in mappings(pid):
        rss += mapping.resident
        pss += mapping.proportional
        anon += mapping.anonymous
        if mapping.path.startswith(prefix):
            qdrant += mapping.resident
            kind = file_kind(Path(mapping.path).relative_to(qdrant_dir))
            by_kind[kind] = by_kind.get(kind, 0) + mapping.resident
        elif mapping.path.startswith("/"):
            other += mapping.resident
    disk = sum(f.stat().st_size for f in qdrant_dir.rglob("*") if f.is_file()) if qdrant_dir.exists() else 0
    return Footprint(
        stage, memories, rss, anon, qdrant, other, disk, by_kind, segments=segments_on_disk(qdrant_dir), pss=pss
    )


def segments_on_disk(qdrant_dir: Path) -> str:
    """Each collection's segment directories, with the points' vector bytes of each (its chunk files on disk):
    a file kind above sums every segment's copy, so this says how many there are."""
    if not qdrant_dir.exists():
        return "-"
    found = []
    for collection in sorted(p for p in qdrant_dir.iterdir() if (p / "segments").is_dir()):
        sizes = [
            sum(f.stat().st_size for f in (segment / "vector_storage").rglob("chunk_*")) / MB
            for segment in sorted((collection / "segments").iterdir())
            if segment.is_dir()
        ]
        found.append(f"{collection.name} {len(sizes)} ({', '.join(f'{size:.0f} MB' for size in sizes)})")
    return "; ".join(found)


def file_kind(relative: Path) -> str:
    """`agent_memories/segments/<uuid>/vector_storage/vectors/chunk_0.mmap` -> `segments/vector_storage/vectors/
    chunk_N.mmap`: the collection and the segment's id dropped, so the same file of every segment adds up."""
    parts = [p for p in relative.parts[1:] if not _is_id(p)]
    return "/".join("".join("N" if c.isdigit() else c for c in p) for p in parts).replace("NN", "N")


def _is_id(part: str) -> bool:
    return len(part) >= 32 and sum(c in "0123456789abcdef-" for c in part) == len(part)


async def serve_recalls(client: httpx.AsyncClient, users: Sequence[str], count: int) -> Timed:
    bodies = recall_bodies(quality_set(), users, count, use_cache=False)
    return await timed([post(client, "/v1/recall", body) for body in bodies], concurrency=4)


@dataclass
class Measured:
    stack: Stack
    cgroup: MemoryCgroup | None

    def start_gateway(self) -> None:
        with self.cgroup.joined() if self.cgroup is not None else contextlib.nullcontext():
            self.stack.start_gateway()

    def take(self, *, stage: str, memories: int, recalls: Timed) -> Footprint:
        gateway = self.stack.gateway
        if gateway is None or gateway.poll() is not None:
            raise RuntimeError(f"the gateway is not running at {stage} ({memories:,} memories)")
        p50, p95, _ = recalls.percentiles()
        cgroup = self.cgroup.figures() if self.cgroup is not None else None
        taken = footprint(gateway.pid, self.stack.qdrant_path, stage=stage, memories=memories)
        taken = replace(taken, recall_ms=(p50, p95), cgroup=cgroup)
        progress(f"{stage}: {memories:,} memories, RSS {taken.rss / MB:.0f} MB (anonymous {taken.anon / MB:.0f} MB)")
        return taken


async def run(args: argparse.Namespace, measured: Measured) -> list[Footprint]:
    stack = measured.stack
    users = [f"bench-user-{i}" for i in range(args.users)]
    memories = Memories(quality_set(), users, per_user=-(-max(args.sizes) // args.users))
    rows: list[Footprint] = []
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=stack.url, timeout=120.0, limits=limits) as client:
        recalls = await serve_recalls(client, users, 40)
        rows.append(measured.take(stage="idle", memories=0, recalls=recalls))
        for size in args.sizes:
            await load(client, memories, users, to=size, writers=args.writers)
            recalls = await serve_recalls(client, users, args.recalls)
            rows.append(measured.take(stage="loaded", memories=memories.stored, recalls=recalls))
    if not args.deployed:
        await asyncio.to_thread(stack.stop_gateway)
        await asyncio.to_thread(measured.start_gateway)
        async with httpx.AsyncClient(base_url=stack.url, timeout=120.0) as client:
            recalls = await serve_recalls(client, users, args.recalls)
        rows.append(measured.take(stage="restarted", memories=memories.stored, recalls=recalls))
    return rows


def table(rows: Sequence[Footprint], args: argparse.Namespace) -> str:
    mode = "deployed (QDRANT_URL set, no answer)" if args.deployed else "embedded Qdrant"
    idle = rows[0]
    lines = [
        f"memory-gateway, {mode}; {args.users} users, hashing embedder (384-d); {args.recalls} recalls after each load",
        "",
        "| stage | memories | RSS (MB) | above idle (MB) | per 10k above idle (MB) | PSS (MB) "
        "| PSS per 10k above idle (MB) | anonymous (MB) | anonymous above idle (MB) | Qdrant files mapped (MB) "
        "| other files mapped (MB) | Qdrant on disk (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [row.row(None if row is idle else idle) for row in rows]
    last = rows[-1]
    if last.qdrant_by_kind:
        lines += [
            "", f"Qdrant's mapped files, resident, {last.stage} at {last.memories:,} (all collections):", "",
            "| file (per segment) | resident (MB) |", "|---|---:|",
        ]  # fmt: skip
        ranked = sorted(last.qdrant_by_kind.items(), key=lambda kv: -kv[1])
        lines += [f"| {kind} | {size / MB:.1f} |" for kind, size in ranked if size >= MB / 2]
        lines += ["", f"Segments on disk, {last.stage} at {last.memories:,}: {last.segments}"]
    lines += ["", "| stage | memories | recall c=4 p50 / p95 (ms) |", "|---|---:|---:|"]
    lines += [f"| {r.stage} | {r.memories:,} | {r.recall_ms[0]:.1f} / {r.recall_ms[1]:.1f} |" for r in rows]
    if args.memory_limit:
        lines += cgroup_table(rows, args.memory_limit)
    return "\n".join(lines)


def cgroup_table(rows: Sequence[Footprint], limit_mb: int) -> list[str]:
    lines = [
        "", f"the gateway's memory cgroup, limit {limit_mb} MB (what `mem_limit` counts):", "",
        "| stage | memories | usage (MB) | peak (MB) | anonymous (MB) | page cache (MB) | of it mapped (MB) "
        "| limit hits | OOM kills |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for r in rows:
        c = r.cgroup or {}
        lines.append(
            f"| {r.stage} | {r.memories:,} | {c.get('usage', 0) / MB:.0f} | {c.get('peak', 0) / MB:.0f} "
            f"| {c.get('anon', 0) / MB:.0f} | {c.get('file', 0) / MB:.0f} | {c.get('file_mapped', 0) / MB:.0f} "
            f"| {c.get('limit_hits', 0)} | {c.get('oom_kills', 0)} |"
        )
    return lines


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pma-bench-") as root:
        stack = Stack(Path(root), None)
        cgroup = None
        if args.memory_limit:
            cgroup = MemoryCgroup.create(f"pma-bench-{os.getpid()}", args.memory_limit * MB)
        measured = Measured(stack, cgroup)
        try:
            stack.start_datastores()
            if args.deployed:
                stack.env["QDRANT_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
                stack.env.pop("QDRANT_PATH", None)
                stack.down = "qdrant"  # the gateway starts without it: /readyz names it, the rest is ok
            measured.start_gateway()
            rows = asyncio.run(run(args, measured))
        finally:
            stack.stop()
            if cgroup is not None:
                cgroup.remove()
    print(table(rows, args))
    print(f"\n{machine_note(started, load_before)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[10_000, 50_000, 100_000])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4, help="concurrent remember/batch callers")
    parser.add_argument("--recalls", type=int, default=200, help="recalls served after each load")
    parser.add_argument("--memory-limit", type=int, default=0, help="MB: run the gateway in a memory cgroup")
    parser.add_argument("--deployed", action="store_true", help="QDRANT_URL set (to a port nobody answers)")
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_args())
