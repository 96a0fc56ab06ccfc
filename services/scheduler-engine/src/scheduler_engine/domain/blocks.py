"""Which block a placement becomes: a block keeps its id across runs while its task keeps a block, so the
calendar event (Google's id, the ICS UID) is moved in place, never deleted and created again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from scheduler_engine.domain.models import ExistingBlock, PlacedBlock


@dataclass(frozen=True, slots=True)
class BlockWrite:
    """A block as this run leaves it: `moved` when an existing block got new times (its sequence grows)."""

    block_id: UUID
    task_id: UUID
    start: datetime
    end: datetime
    new: bool
    moved: bool


@dataclass(frozen=True, slots=True)
class BlockPlan:
    writes: tuple[BlockWrite, ...]
    # Blocks of the earlier runs this run no longer uses (their calendar events go).
    replaced: tuple[UUID, ...]


def assign(previous: list[ExistingBlock], placed: list[PlacedBlock]) -> BlockPlan:
    """Match each task's new placements with its earlier (not fixed) blocks, same times first, then in order.

    Fixed blocks are not in `placed` (the solver kept them where they are) and are left alone.
    """
    old_by_task: dict[UUID, list[ExistingBlock]] = defaultdict(list)
    for block in sorted(previous, key=lambda b: b.start):
        if not block.fixed:
            old_by_task[block.task_id].append(block)
    writes: list[BlockWrite] = []
    for task_id, placements in _by_task(placed).items():
        old = old_by_task.pop(task_id, [])
        writes += _match(task_id, old, placements)
        old_by_task[task_id] = [b for b in old if b.block_id not in {w.block_id for w in writes}]
    replaced = tuple(block.block_id for blocks in old_by_task.values() for block in blocks)
    return BlockPlan(writes=tuple(writes), replaced=replaced)


def _by_task(placed: list[PlacedBlock]) -> dict[UUID, list[PlacedBlock]]:
    grouped: dict[UUID, list[PlacedBlock]] = defaultdict(list)
    for block in sorted(placed, key=lambda b: b.start):
        grouped[block.task_id].append(block)
    return grouped


def _match(task_id: UUID, old: list[ExistingBlock], placements: list[PlacedBlock]) -> list[BlockWrite]:
    unchanged = {(b.start, b.end): b for b in old}
    free_old = [b for b in old if (b.start, b.end) not in {(p.start, p.end) for p in placements}]
    writes = []
    for placement in placements:
        same = unchanged.pop((placement.start, placement.end), None)
        if same is not None:
            writes.append(BlockWrite(same.block_id, task_id, placement.start, placement.end, new=False, moved=False))
        elif free_old:
            reused = free_old.pop(0)
            writes.append(BlockWrite(reused.block_id, task_id, placement.start, placement.end, new=False, moved=True))
        else:
            writes.append(BlockWrite(uuid4(), task_id, placement.start, placement.end, new=True, moved=False))
    return writes
