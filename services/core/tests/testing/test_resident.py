"""`pma_core.testing.resident`: a file mapped twice and read through both counts twice in Rss, once in Pss,
which is why bench/memory_footprint.py reports both for the embedded Qdrant (it maps its files twice)."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

import pytest

from pma_core.testing.resident import mappings, resident_under

SIZE = 4 * 1024 * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/smaps, Linux only")
def test_a_file_mapped_twice_is_resident_twice_and_proportionally_once(tmp_path: Path) -> None:
    data = tmp_path / "chunk.mmap"
    data.write_bytes(b"\x01" * SIZE)
    with data.open("rb") as file:
        first = mmap.mmap(file.fileno(), SIZE, access=mmap.ACCESS_READ)
        second = mmap.mmap(file.fileno(), SIZE, access=mmap.ACCESS_READ)
        try:
            # Touch every page through both mappings.
            assert sum(first[i] for i in range(0, SIZE, mmap.PAGESIZE)) == SIZE // mmap.PAGESIZE
            assert sum(second[i] for i in range(0, SIZE, mmap.PAGESIZE)) == SIZE // mmap.PAGESIZE
            held = [m for m in mappings() if m.path == str(data)]
            assert len(held) == 2
            assert sum(m.resident for m in held) == 2 * SIZE == resident_under(tmp_path)
            assert sum(m.proportional for m in held) == SIZE
            assert all(m.anonymous == 0 for m in held)
        finally:
            first.close()
            second.close()
