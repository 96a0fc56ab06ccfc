"""The 002 schema holds what it promises: tenancy, integrity, lifecycles, search, timestamps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

TABLES = [
    "events",
    "plans",
    "scheduler_runs",
    "execution_runs",
    "graph_nodes",
    "graph_edges",
    "prompt_templates",
]


@pytest.fixture
async def conn(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres_url)
    yield connection
    await connection.close()


async def test_every_table_has_user_id_and_timestamps(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name IN ('user_id', 'created_at', 'updated_at')"""
    )
    found = {(r["table_name"], r["column_name"]): (r["data_type"], r["is_nullable"]) for r in rows}
    for table in TABLES:
        assert found[(table, "user_id")] == ("text", "NO")
        assert found[(table, "created_at")] == ("timestamp with time zone", "NO")
        assert found[(table, "updated_at")] == ("timestamp with time zone", "NO")


async def test_empty_user_id_is_rejected(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("INSERT INTO events (user_id, event_type) VALUES ('', 'plan.created')")


async def test_updated_at_moves_on_update(conn: asyncpg.Connection) -> None:
    plan_id = await conn.fetchval(
        "INSERT INTO plans (user_id, intent, created_at, updated_at) "
        "VALUES ('u1', 'Ship it', now() - interval '1 day', now() - interval '1 day') RETURNING id"
    )
    await conn.execute("UPDATE plans SET status = 'accepted' WHERE id = $1", plan_id)
    row = await conn.fetchrow("SELECT created_at, updated_at FROM plans WHERE id = $1", plan_id)
    assert row is not None
    assert row["updated_at"] > row["created_at"]


async def test_plan_status_is_a_known_lifecycle_state(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("INSERT INTO plans (user_id, intent, status) VALUES ('u1', 'x', 'finished')")


async def _node(conn: asyncpg.Connection, user_id: str, key: str) -> object:
    return await conn.fetchval(
        "INSERT INTO graph_nodes (user_id, node_type, key, name) VALUES ($1, 'project', $2, $2) RETURNING id",
        user_id,
        key,
    )


async def test_an_edge_cannot_reach_another_users_node(conn: asyncpg.Connection) -> None:
    mine = await _node(conn, "alice", "newsletter")
    theirs = await _node(conn, "bob", "secret-project")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.execute(
            "INSERT INTO graph_edges (user_id, source_id, target_id, relation) VALUES ('alice', $1, $2, 'uses')",
            mine,
            theirs,
        )


async def test_edges_are_unique_and_go_with_their_nodes(conn: asyncpg.Connection) -> None:
    a, b = await _node(conn, "alice", "a"), await _node(conn, "alice", "b")
    insert = "INSERT INTO graph_edges (user_id, source_id, target_id, relation) VALUES ('alice', $1, $2, 'uses')"
    await conn.execute(insert, a, b)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, a, b)
    await conn.execute("DELETE FROM graph_nodes WHERE id = $1", b)
    assert await conn.fetchval("SELECT count(*) FROM graph_edges") == 0


async def test_adjacency_is_indexed_in_both_directions(conn: asyncpg.Connection) -> None:
    indexes = [
        r["indexdef"] for r in await conn.fetch("SELECT indexdef FROM pg_indexes WHERE tablename = 'graph_edges'")
    ]
    assert any("(user_id, source_id, relation, target_id)" in d for d in indexes)
    assert any("(user_id, target_id, relation)" in d for d in indexes)


async def test_runs_cannot_point_at_another_users_plan(conn: asyncpg.Connection) -> None:
    plan_id = await conn.fetchval("INSERT INTO plans (user_id, intent) VALUES ('alice', 'x') RETURNING id")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.execute("INSERT INTO execution_runs (user_id, plan_id) VALUES ('bob', $1)", plan_id)


async def test_a_scheduler_run_refers_to_a_plan_across_services_without_a_foreign_key(conn: asyncpg.Connection) -> None:
    # 005: the scheduler-engine owns scheduler_runs and learns of plans over HTTP (its queries are scoped
    # by user_id); a run may name a plan its own tables do not hold.
    unknown_plan = await conn.fetchval("SELECT gen_random_uuid()")
    await conn.execute("INSERT INTO scheduler_runs (user_id, plan_id) VALUES ('bob', $1)", unknown_plan)


async def test_deleting_a_plan_keeps_its_execution_history(conn: asyncpg.Connection) -> None:
    plan_id = await conn.fetchval("INSERT INTO plans (user_id, intent) VALUES ('alice', 'x') RETURNING id")
    run_id = await conn.fetchval(
        "INSERT INTO execution_runs (user_id, plan_id, actual_minutes) VALUES ('alice', $1, 30) RETURNING id",
        plan_id,
    )
    await conn.execute("DELETE FROM plans WHERE id = $1", plan_id)
    row = await conn.fetchrow("SELECT user_id, plan_id FROM execution_runs WHERE id = $1", run_id)
    assert row is not None
    assert (row["user_id"], row["plan_id"]) == ("alice", None)


async def test_template_versions_are_unique_and_one_is_active(conn: asyncpg.Connection) -> None:
    insert = "INSERT INTO prompt_templates (name, version, body, active) VALUES ('plan.generate', $1, 'b', $2)"
    await conn.execute(insert, 1, True)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, 1, False)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, 2, True)
    await conn.execute(insert, 2, False)


async def test_idempotency_keys_are_unique_per_user(conn: asyncpg.Connection) -> None:
    insert = "INSERT INTO events (user_id, event_type, idempotency_key) VALUES ($1, 'task.done', 'k1')"
    await conn.execute(insert, "alice")
    await conn.execute(insert, "bob")
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, "alice")


async def test_full_text_search_finds_stemmed_words(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO events (user_id, event_type, subject, summary) VALUES "
        "('alice', 'task.done', 'Newsletter', 'Drafted the launching announcement'), "
        "('alice', 'task.done', 'Taxes', 'Filed the quarterly return')"
    )
    found = await conn.fetch(
        "SELECT subject FROM events WHERE user_id = 'alice' AND search_tsv @@ plainto_tsquery('english', 'launch')"
    )
    assert [r["subject"] for r in found] == ["Newsletter"]
    plan = "SELECT count(*) FROM pg_indexes WHERE indexname = ANY($1::text[]) AND indexdef LIKE '%USING gin%'"
    names = ["events_search_idx", "plans_search_idx", "execution_runs_search_idx", "graph_nodes_search_idx"]
    assert await conn.fetchval(plan, names) == 4
