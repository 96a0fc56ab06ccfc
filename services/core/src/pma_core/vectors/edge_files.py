"""What the embedded store keeps beside the engine's files, and the child process that optimizes them.

`<collection>/collection.json` holds the size, distance and embedder identity (the engine keeps no
collection metadata), so a collection is known without loading its shard. The optimizer runs in a child
process because every engine call holds the GIL (see `pma_core.vectors.edge`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Final, cast

from pma_core.vectors.port import CollectionSpec, Distance, VectorStoreError

META_FILE: Final = "collection.json"
_OPTIMIZE_SCRIPT: Final = "import sys,qdrant_edge as q;s=q.EdgeShard.load(sys.argv[1]);s.optimize();s.close()"


async def optimize_in_child(directory: Path) -> None:
    """Run the engine's optimizer on the shard in `directory`, which no one else may have open meanwhile."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _OPTIMIZE_SCRIPT,
        str(directory),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await child.communicate()
    except asyncio.CancelledError:
        # The engine's optimizer survives being killed (the old segments stay until the new one is
        # complete; checked by killing it mid-run): stop it so the shard can be reopened now.
        child.terminate()
        await child.wait()
        raise
    if child.returncode != 0:
        detail = stderr.decode(errors="replace").strip()[-500:]
        raise VectorStoreError(f"optimizing {directory.name!r} failed (exit {child.returncode}): {detail}")


def read_spec(directory: Path) -> CollectionSpec | None:
    """What `collection.json` says; None when the collection was never (completely) created."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        embedder = meta.get("embedder")  # absent in files written before identities were kept
        return CollectionSpec(
            directory.name,
            int(meta["size"]),
            cast(Distance, meta["distance"]),
            embedder=str(embedder) if embedder is not None else None,
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VectorStoreError(f"unreadable {directory / META_FILE}: {exc}") from exc


def write_spec(directory: Path, spec: CollectionSpec) -> None:
    """Write `collection.json` atomically: a crash never leaves a half-written file that reads as a collection."""
    temporary = directory / f"{META_FILE}.tmp"
    meta: dict[str, object] = {"size": spec.size, "distance": spec.distance}
    if spec.embedder is not None:
        meta["embedder"] = spec.embedder
    temporary.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(temporary, directory / META_FILE)
