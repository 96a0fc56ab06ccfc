"""The knowledge graph's logic, free of FastAPI and SQL: resolving node references, batch order, and
shaping a traversal into nodes with their paths. The stores are small Protocols.
"""

from __future__ import annotations

from uuid import UUID

from memory_gateway.domain.ports import GraphStore, GraphWriter
from pma_core.contracts.graph import (
    EdgeItem,
    EdgeRead,
    GraphUpsert,
    GraphUpsertRead,
    NeighborRead,
    NeighborsQuery,
    NeighborsRead,
    NodeItem,
    NodeRead,
)
from pma_core.errors import NotFoundError, ValidationFailedError


def invalid(field: str, message: str, kind: str) -> ValidationFailedError:
    """A 422 in the shape of request validation errors, for what only the database can check."""
    return ValidationFailedError(
        f"invalid request: {field}: {message}", details=[{"field": field, "message": message, "type": kind}]
    )


async def upsert_node(store: GraphStore, user_id: str, item: NodeItem) -> tuple[NodeRead, bool]:
    async with store.transaction(user_id) as writer:
        return await writer.upsert_node(item, field="body")


async def upsert_edge(store: GraphStore, user_id: str, item: EdgeItem) -> tuple[EdgeRead, bool]:
    async with store.transaction(user_id) as writer:
        return await _write_edge(writer, item, field="body")


async def upsert_graph(store: GraphStore, batch: GraphUpsert) -> GraphUpsertRead:
    """Nodes first, then edges, in one transaction: an edge may name a node of the same batch by (type, key),
    and any failure leaves the graph as it was."""
    async with store.transaction(batch.user_id) as writer:
        nodes = [(await writer.upsert_node(item, field=f"body.nodes.{i}"))[0] for i, item in enumerate(batch.nodes)]
        edges = [(await _write_edge(writer, item, field=f"body.edges.{i}"))[0] for i, item in enumerate(batch.edges)]
    return GraphUpsertRead(nodes=nodes, edges=edges)


async def _write_edge(writer: GraphWriter, item: EdgeItem, *, field: str) -> tuple[EdgeRead, bool]:
    ends: list[UUID] = []
    for end, ref in (("source", item.source), ("target", item.target)):
        node_id = await writer.resolve(ref)
        if node_id is None:
            # Another user's node is as unknown as a missing one: an edge can only join the user's own nodes.
            raise invalid(f"{field}.{end}", f"no node with {ref.describe()} for this user", "unknown_node")
        ends.append(node_id)
    return await writer.upsert_edge(item, source_id=ends[0], target_id=ends[1], field=field)


async def neighbors(store: GraphStore, query: NeighborsQuery) -> NeighborsRead:
    """graph_neighbors: the origin, the nodes around it nearest first with a shortest path each, and the
    edges on those paths. 404 when the user has no such origin node."""
    origin = await store.find_node(query.user_id, query.node)
    if origin is None:
        raise NotFoundError(f"node {query.node.describe()} not found", details={"node": query.node.describe()})
    # One row more than asked tells whether the answer was cut.
    reached = await store.walk(origin.id, query, limit=query.limit + 1)
    kept = reached[: query.limit]
    edge_ids = list(dict.fromkeys(edge for r in kept for edge in r.edge_ids))
    by_id = {edge.id: edge for edge in await store.edges(query.user_id, edge_ids)}
    return NeighborsRead(
        origin=origin,
        nodes=[NeighborRead(node=r.node, depth=r.depth, path=r.path()) for r in kept],
        edges=[by_id[e] for e in edge_ids if e in by_id],
        truncated=len(reached) > query.limit,
    )
