"""What a process holds in memory, mapping by mapping, from Linux's /proc/PID/smaps: for tests and benches
that check where resident memory goes (files mapped in, anonymous memory)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mapping:
    path: str  # the mapped file, or "" / a pseudo-name such as "[heap]" for anonymous memory
    resident: int  # bytes in memory (Rss)
    anonymous: int  # of them, bytes not backed by a file (Anonymous)
    # Rss with each page divided by the number of mappings that hold it (Pss). The embedded Qdrant maps
    # each of its files twice, and a page touched through both counts twice in Rss but once here.
    proportional: int = 0


def mappings(pid: int | str = "self") -> list[Mapping]:
    """Every mapping of the process with its resident and anonymous bytes (Linux only)."""
    found: list[Mapping] = []
    path, resident, proportional = "", 0, 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if "-" in fields[0] and not fields[0].endswith(":"):  # a mapping's header: "start-end perms ... path"
            path = fields[5] if len(fields) == 6 else ""
        elif fields[0] == "Rss:":
            resident = int(fields[1]) * 1024
        elif fields[0] == "Pss:":
            proportional = int(fields[1]) * 1024
        elif fields[0] == "Anonymous:":  # the last of the three in each mapping's block
            found.append(Mapping(path, resident, int(fields[1]) * 1024, proportional))
    return found


def resident_under(directory: Path, pid: int | str = "self") -> int:
    """The bytes of the files under `directory` that the process has mapped and holds in memory."""
    prefix = str(directory)
    return sum(m.resident for m in mappings(pid) if m.path.startswith(prefix))
