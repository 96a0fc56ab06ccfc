"""All SQL of the knowledge graph: upserts on natural keys, reads, deletes, and the neighbours traversal.

Every statement is scoped by user_id, and the composite (user_id, id) foreign keys make the database
itself refuse an edge to another user's node. Upserts report whether they inserted with `xmax = 0`
(an inserted row version has no deleting transaction; one updated by ON CONFLICT has).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from memory_gateway.domain.graph import invalid
from memory_gateway.domain.models import Reached
from pma_core.contracts.graph import EdgeItem, EdgeRead, NeighborsQuery, NodeItem, NodeRead, NodeRef

_NODE_COLUMNS = "id, user_id, node_type, key, name, properties, valid_from, valid_to, created_at, updated_at"
_EDGE_COLUMNS = (
    "id, user_id, source_id, target_id, relation, properties, weight, valid_from, valid_to, created_at, updated_at"
)
# An omitted valid_from means "since first stored": it is set on insert and kept on update.
_UPSERT_NODE = f"""
    INSERT INTO graph_nodes AS n (user_id, node_type, key, name, properties, valid_from, valid_to)
    VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7)
    ON CONFLICT ON CONSTRAINT graph_nodes_natural_key DO UPDATE
    SET name = EXCLUDED.name, properties = EXCLUDED.properties,
        valid_from = COALESCE($6, n.valid_from), valid_to = EXCLUDED.valid_to
    RETURNING {_NODE_COLUMNS}, (xmax = 0) AS inserted"""
_UPSERT_EDGE = f"""
    INSERT INTO graph_edges AS e (user_id, source_id, target_id, relation, properties, weight, valid_from, valid_to)
    VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, now()), $8)
    ON CONFLICT ON CONSTRAINT graph_edges_unique DO UPDATE
    SET properties = EXCLUDED.properties, weight = EXCLUDED.weight,
        valid_from = COALESCE($7, e.valid_from), valid_to = EXCLUDED.valid_to
    RETURNING {_EDGE_COLUMNS}, (xmax = 0) AS inserted"""

# graph_neighbors as one recursive CTE. $1 user, $2 origin, $3 direction, $4 depth, $5 relations (NULL = any),
# $6 include_expired, $7 node types (NULL = any), $8 row limit.
# * Every step joins edges and nodes on user_id: a walk never leaves the user's graph.
# * Each path carries the node ids it visited and never revisits one, so cycles end.
# * DISTINCT ON per step keeps one path per node and depth, so the work per step is bounded by the graph's
#   size, not by the number of paths (which grows exponentially in a dense graph).
# * The final DISTINCT ON keeps each node at its smallest depth: a shortest path.
_NEIGHBOURS = f"""
WITH RECURSIVE walk (node_id, depth, visited, edge_ids, relations, directions) AS (
    SELECT $2::uuid, 0, ARRAY[$2::uuid], ARRAY[]::uuid[], ARRAY[]::text[], ARRAY[]::text[]
  UNION ALL
    SELECT DISTINCT ON (step.next_id)
           step.next_id, w.depth + 1, w.visited || step.next_id,
           w.edge_ids || step.edge_id, w.relations || step.relation, w.directions || step.direction
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT e.id AS edge_id, e.relation, e.target_id AS next_id, 'out'::text AS direction, e.valid_to
        FROM graph_edges e
        WHERE $3::text IN ('out', 'both') AND e.user_id = $1 AND e.source_id = w.node_id
        UNION ALL
        SELECT e.id, e.relation, e.source_id, 'in'::text, e.valid_to
        FROM graph_edges e
        WHERE $3::text IN ('in', 'both') AND e.user_id = $1 AND e.target_id = w.node_id
    ) AS step
    JOIN graph_nodes n ON n.user_id = $1 AND n.id = step.next_id
    WHERE w.depth < $4
      AND NOT step.next_id = ANY(w.visited)
      AND ($5::text[] IS NULL OR step.relation = ANY($5::text[]))
      AND ($6::boolean OR ((step.valid_to IS NULL OR step.valid_to > now())
                           AND (n.valid_to IS NULL OR n.valid_to > now())))
),
nearest AS (
    SELECT DISTINCT ON (node_id) * FROM walk WHERE depth > 0 ORDER BY node_id, depth
)
SELECT {", ".join(f"n.{c.strip()}" for c in _NODE_COLUMNS.split(","))},
       w.depth, w.visited, w.edge_ids, w.relations, w.directions
FROM nearest w
JOIN graph_nodes n ON n.user_id = $1 AND n.id = w.node_id
WHERE $7::text[] IS NULL OR n.node_type = ANY($7::text[])
ORDER BY w.depth, n.node_type, n.key, n.id
LIMIT $8"""


def _node(record: asyncpg.Record) -> NodeRead:
    return NodeRead.model_validate({c: record[c] for c in NodeRead.model_fields})


def _edge(record: asyncpg.Record) -> EdgeRead:
    return EdgeRead.model_validate({c: record[c] for c in EdgeRead.model_fields})


def _reached(record: asyncpg.Record) -> Reached:
    return Reached(
        node=_node(record),
        depth=record["depth"],
        node_ids=tuple(record["visited"][1:]),
        edge_ids=tuple(record["edge_ids"]),
        relations=tuple(record["relations"]),
        directions=tuple(record["directions"]),
    )


class GraphTx:
    """The writes of one transaction, all for one user."""

    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy, user_id: str) -> None:
        self.conn = conn
        self.user_id = user_id

    async def upsert_node(self, item: NodeItem, *, field: str) -> tuple[NodeRead, bool]:
        try:
            record = await self.conn.fetchrow(
                _UPSERT_NODE,
                self.user_id,
                item.node_type,
                item.key,
                item.name,
                item.properties,
                item.valid_from,
                item.valid_to,
            )
        except asyncpg.CheckViolationError as exc:
            raise _validity_error(field) from exc
        assert record is not None, "an upsert returns its row"
        return _node(record), bool(record["inserted"])

    async def resolve(self, ref: NodeRef) -> UUID | None:
        """The id of the user's node that `ref` names, None if the user has no such node."""
        found: UUID | None
        if ref.id is not None:
            found = await self.conn.fetchval(
                "SELECT id FROM graph_nodes WHERE user_id = $1 AND id = $2", self.user_id, ref.id
            )
        else:
            found = await self.conn.fetchval(
                "SELECT id FROM graph_nodes WHERE user_id = $1 AND node_type = $2 AND key = $3",
                self.user_id,
                ref.type,
                ref.key,
            )
        return found

    async def upsert_edge(
        self, item: EdgeItem, *, source_id: UUID, target_id: UUID, field: str
    ) -> tuple[EdgeRead, bool]:
        args = (item.relation, item.properties, item.weight, item.valid_from, item.valid_to)
        try:
            record = await self.conn.fetchrow(_UPSERT_EDGE, self.user_id, source_id, target_id, *args)
        except asyncpg.CheckViolationError as exc:
            raise _validity_error(field) from exc
        except asyncpg.ForeignKeyViolationError as exc:
            # The node was deleted between resolving it and writing the edge.
            raise invalid(
                field, "an end of this edge is not (or no longer) a node of this user", "unknown_node"
            ) from exc
        assert record is not None, "an upsert returns its row"
        return _edge(record), bool(record["inserted"])


def _validity_error(field: str) -> Exception:
    return invalid(
        field,
        "valid_to must be after valid_from (an omitted valid_from is the stored one, or now for a new row)",
        "validity_order",
    )


class GraphRepository:
    """The graph_nodes and graph_edges tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self, user_id: str) -> AsyncIterator[GraphTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield GraphTx(conn, user_id)

    async def get_node(self, user_id: str, node_id: UUID) -> NodeRead | None:
        record = await self.pool.fetchrow(
            f"SELECT {_NODE_COLUMNS} FROM graph_nodes WHERE user_id = $1 AND id = $2", user_id, node_id
        )
        return _node(record) if record else None

    async def find_node(self, user_id: str, ref: NodeRef) -> NodeRead | None:
        if ref.id is not None:
            return await self.get_node(user_id, ref.id)
        record = await self.pool.fetchrow(
            f"SELECT {_NODE_COLUMNS} FROM graph_nodes WHERE user_id = $1 AND node_type = $2 AND key = $3",
            user_id,
            ref.type,
            ref.key,
        )
        return _node(record) if record else None

    async def delete_node(self, user_id: str, node_id: UUID) -> bool:
        """Delete the node; its edges go with it (ON DELETE CASCADE). False if the user has no such node."""
        deleted = await self.pool.fetchval(
            "DELETE FROM graph_nodes WHERE user_id = $1 AND id = $2 RETURNING id", user_id, node_id
        )
        return deleted is not None

    async def delete_edge(self, user_id: str, edge_id: UUID) -> bool:
        deleted = await self.pool.fetchval(
            "DELETE FROM graph_edges WHERE user_id = $1 AND id = $2 RETURNING id", user_id, edge_id
        )
        return deleted is not None

    async def edges(self, user_id: str, ids: Sequence[UUID]) -> list[EdgeRead]:
        records = await self.pool.fetch(
            f"SELECT {_EDGE_COLUMNS} FROM graph_edges WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, list(ids)
        )
        return [_edge(r) for r in records]

    async def walk(self, origin_id: UUID, query: NeighborsQuery, *, limit: int) -> list[Reached]:
        """The nodes within `query.depth` hops of the origin, nearest first, at most `limit`."""
        records = await self.pool.fetch(
            _NEIGHBOURS,
            query.user_id,
            origin_id,
            query.direction,
            query.depth,
            query.relations,
            query.include_expired,
            query.node_types,
            limit,
        )
        return [_reached(r) for r in records]
