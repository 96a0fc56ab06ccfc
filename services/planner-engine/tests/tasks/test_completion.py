"""tasks.completed_at: set when a task becomes done, kept while it stays done, cleared when it leaves done,
on every path that writes a status (the import, a plan's lifecycle, any other statement), and backfilled
by migration 007 from updated_at without touching updated_at."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanCreate, PlanRead, PlanStatus, PlanStatusUpdate
from pma_core.contracts.tasks import TaskImport, TaskRead
from pma_core.migrations import default_migrations_dir, migrate

USER = "alice"


def row(ref: str, **changes: Any) -> dict[str, Any]:
    return {"external_ref": ref, "title": f"Row {ref}", "estimate_minutes": 30} | changes


async def import_row(planner: PlannerEngineClient, ref: str, **changes: Any) -> tuple[str, TaskRead]:
    batch = TaskImport.model_validate({"user_id": USER, "source": "coda", "tasks": [row(ref, **changes)]})
    (result,) = (await planner.import_tasks(batch)).results
    return result.outcome, result.task


async def stored(planner: PlannerEngineClient, task_id: UUID) -> TaskRead:
    (task,) = await planner.tasks_by_ids(USER, [task_id])
    return task


async def move(planner: PlannerEngineClient, plan: PlanRead, *statuses: PlanStatus) -> PlanRead:
    for status in statuses:
        plan = await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status=status))
    return plan


async def test_the_import_sets_keeps_and_clears_completed_at(planner: PlannerEngineClient) -> None:
    _, todo = await import_row(planner, "coda:1")
    assert (todo.status, todo.completed_at) == ("todo", None)

    before = datetime.now(UTC)
    outcome, done = await import_row(planner, "coda:1", status="done")
    assert (outcome, done.status) == ("updated", "done")
    assert done.completed_at is not None
    assert before <= done.completed_at <= datetime.now(UTC)

    # Still done: an edit, or the same row again, keeps the moment it was finished.
    outcome, edited = await import_row(planner, "coda:1", status="done", title="Renamed")
    assert (outcome, edited.title, edited.completed_at) == ("updated", "Renamed", done.completed_at)
    assert edited.updated_at > done.updated_at
    outcome, again = await import_row(planner, "coda:1", status="done", title="Renamed")
    assert (outcome, again.completed_at) == ("unchanged", done.completed_at)

    # Reopened: no completion any more; done again later: a new one.
    outcome, reopened = await import_row(planner, "coda:1", status="in_progress", title="Renamed")
    assert (outcome, reopened.status, reopened.completed_at) == ("updated", "in_progress", None)
    _, redone = await import_row(planner, "coda:1", status="done", title="Renamed")
    assert redone.completed_at is not None
    assert redone.completed_at > done.completed_at

    # A row imported as done is complete from the start.
    outcome, born_done = await import_row(planner, "coda:2", status="done")
    assert (outcome, born_done.completed_at is not None) == ("created", True)
    assert (await stored(planner, born_done.id)).completed_at == born_done.completed_at


async def test_a_plan_moved_to_done_completes_its_open_tasks_and_keeps_earlier_completions(
    planner: PlannerEngineClient,
) -> None:
    plan = await planner.create_plan(PlanCreate(user_id=USER, intent="Launch the Q1 newsletter"))
    assert {t.completed_at for t in plan.tasks} == {None}
    _, early = await import_row(planner, "coda:early", plan_id=str(plan.id), status="done")
    assert early.completed_at is not None

    done = await move(planner, plan, "accepted", "in_progress", "done")

    by_id = {task.id: task for task in done.tasks}
    assert by_id[early.id].completed_at == early.completed_at  # finished before: kept
    planned = [by_id[task.id] for task in plan.tasks]
    assert {task.status for task in planned} == {"done"}
    moments = {task.completed_at for task in planned}
    assert len(moments) == 1  # one move, one moment
    (moment,) = moments
    assert moment is not None
    assert moment > early.completed_at
    listed = {task.id: task for task in (await planner.list_tasks(USER, plan_id=plan.id)).tasks}
    assert {task_id: task.completed_at for task_id, task in listed.items()} == {
        task_id: task.completed_at for task_id, task in by_id.items()
    }


async def test_a_cancelled_plan_leaves_open_tasks_uncompleted_and_done_ones_as_they_were(
    planner: PlannerEngineClient,
) -> None:
    plan = await planner.create_plan(PlanCreate(user_id=USER, intent="Launch the Q1 newsletter"))
    _, early = await import_row(planner, "coda:early", plan_id=str(plan.id), status="done")

    cancelled = await move(planner, plan, "cancelled")

    by_id = {task.id: task for task in cancelled.tasks}
    assert (by_id[early.id].status, by_id[early.id].completed_at) == ("done", early.completed_at)
    assert {(by_id[task.id].status, by_id[task.id].completed_at) for task in plan.tasks} == {("cancelled", None)}


async def test_any_other_statement_follows_the_same_rule(planner: PlannerEngineClient, postgres_url: str) -> None:
    """The rule is the database's (a trigger and a CHECK), so a path added later cannot forget it."""
    _, task = await import_row(planner, "coda:raw")
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("UPDATE tasks SET status = 'done' WHERE id = $1", task.id)
        completed = (await stored(planner, task.id)).completed_at
        assert completed is not None
        # Still done: an attempt to move or drop the moment keeps it.
        await conn.execute("UPDATE tasks SET completed_at = NULL, title = 'x' WHERE id = $1", task.id)
        assert (await stored(planner, task.id)).completed_at == completed
        await conn.execute("UPDATE tasks SET status = 'cancelled' WHERE id = $1", task.id)
        assert (await stored(planner, task.id)).completed_at is None
    finally:
        await conn.close()


async def test_migration_007_backfills_done_tasks_from_updated_at_and_leaves_updated_at(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    for path in sorted(default_migrations_dir().glob("*.sql")):
        if int(path.name.split("_", 1)[0]) <= 5:  # the tasks table as it was before 007
            shutil.copy(path, tmp_path / path.name)
    await migrate(empty_postgres_url, tmp_path)
    then = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    conn = await asyncpg.connect(empty_postgres_url)
    try:
        insert = (
            "INSERT INTO tasks (user_id, title, estimate_minutes, status, created_at, updated_at)"
            " VALUES ('alice', $1, 30, $2, $3, $3) RETURNING id"
        )
        done_id = await conn.fetchval(insert, "finished long ago", "done", then)
        open_id = await conn.fetchval(insert, "still open", "in_progress", then)

        shutil.copy(default_migrations_dir() / "007_planner_task_completion.sql", tmp_path)
        report = await migrate(empty_postgres_url, tmp_path)
        assert report.applied == ["007_planner_task_completion.sql"]

        rows = {
            r["id"]: (r["completed_at"], r["updated_at"])
            for r in await conn.fetch("SELECT id, completed_at, updated_at FROM tasks")
        }
        assert rows == {done_id: (then, then), open_id: (None, then)}
    finally:
        await conn.close()
