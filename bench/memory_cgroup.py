"""A memory cgroup for one benchmarked process, as a container's `mem_limit` is: cgroup v2 or v1.

Used by bench/memory_footprint.py. Needs a writable cgroup hierarchy (root, without systemd owning it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path
    v2: bool

    @classmethod
    def create(cls, name: str, limit_bytes: int) -> MemoryCgroup:
        """A fresh cgroup `name` limited to `limit_bytes`; raises with the reason when none can be made."""
        v2 = (_ROOT / "cgroup.controllers").exists()
        parent = _ROOT if v2 else _ROOT / "memory"
        if not parent.is_dir():
            raise RuntimeError(f"no memory cgroup hierarchy at {parent}")
        path = parent / name
        try:
            path.mkdir(exist_ok=True)
            if v2:
                (path / "memory.max").write_text(str(limit_bytes))
                (path / "memory.swap.max").write_text("0")
            else:
                (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
        except OSError as exc:
            raise RuntimeError(f"cannot set up the memory cgroup {path}: {exc}") from exc
        return cls(path, v2)

    @contextlib.contextmanager
    def joined(self) -> Iterator[None]:
        """This process inside the cgroup meanwhile, so that the processes it starts are born there (charges
        made before a process moves in stay where they were) and count from their first page."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))
        try:
            yield
        finally:
            (self.path.parent / "cgroup.procs").write_text(str(os.getpid()))

    def figures(self) -> dict[str, int]:
        """usage, peak, anon, file (page cache), file_mapped, limit hits and OOM kills, in bytes or counts."""
        stat = dict(_pairs(self.path / "memory.stat"))
        if self.v2:
            events = dict(_pairs(self.path / "memory.events"))
            peak = self.path / "memory.peak"
            return {
                "usage": _int(self.path / "memory.current"),
                "peak": _int(peak) if peak.exists() else -1,
                "anon": stat.get("anon", 0),
                "file": stat.get("file", 0),
                "file_mapped": stat.get("file_mapped", 0),
                "limit_hits": events.get("max", 0),
                "oom_kills": events.get("oom_kill", 0),
            }
        oom = dict(_pairs(self.path / "memory.oom_control"))
        return {
            "usage": _int(self.path / "memory.usage_in_bytes"),
            "peak": _int(self.path / "memory.max_usage_in_bytes"),
            "anon": stat.get("rss", 0),
            "file": stat.get("cache", 0),
            "file_mapped": stat.get("mapped_file", 0),
            "limit_hits": _int(self.path / "memory.failcnt"),
            "oom_kills": oom.get("oom_kill", 0),
        }

    def remove(self) -> None:
        """Move what is left to the parent and remove the cgroup (its processes have exited by now)."""
        parent = self.path.parent / "cgroup.procs"
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                parent.write_text(pid)
        with contextlib.suppress(OSError):
            os.rmdir(self.path)


def _pairs(path: Path) -> list[tuple[str, int]]:
    pairs = []
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            pairs.append((key, int(value)))
    return pairs


def _int(path: Path) -> int:
    return int(path.read_text().split()[0])
