"""The knowledge graph over HTTP: upsert nodes and edges (one or a batch), get and delete, graph_neighbors.

graph_neighbors is a POST with a JSON body rather than a GET: its node reference and list filters read
more clearly as JSON, and it changes nothing, so clients may retry it freely.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from memory_gateway.deps import GraphDep
from memory_gateway.domain import graph
from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.contracts.graph import (
    EdgeItem,
    EdgeRead,
    EdgeUpsert,
    GraphUpsert,
    GraphUpsertRead,
    NeighborsQuery,
    NeighborsRead,
    NodeItem,
    NodeRead,
    NodeUpsert,
)
from pma_core.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["graph"])


def _created_or_ok(response: Response, created: bool) -> None:
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK


@router.put(
    "/graph/nodes",
    response_model=NodeRead,
    responses={status.HTTP_201_CREATED: {"model": NodeRead, "description": "A new (node_type, key): created"}},
    summary="create or update a node by (node_type, key)",
)
async def upsert_node(body: NodeUpsert, store: GraphDep, response: Response) -> NodeRead:
    """201 when created, 200 when the user's node with this (node_type, key) was updated: name, properties
    and valid_to are replaced; valid_from is replaced only when given."""
    item = NodeItem.model_validate(body.model_dump(exclude={"user_id"}))
    node, created = await graph.upsert_node(store, body.user_id, item)
    _created_or_ok(response, created)
    return node


@router.put(
    "/graph/edges",
    response_model=EdgeRead,
    responses={
        status.HTTP_201_CREATED: {"model": EdgeRead, "description": "A new (source, relation, target): created"}
    },
    summary="create or update an edge by (source, relation, target)",
)
async def upsert_edge(body: EdgeUpsert, store: GraphDep, response: Response) -> EdgeRead:
    """Each end is `{"id": ...}` or `{"type": ..., "key": ...}` and must be the user's own node (else 422).
    201 when created, 200 when updated (properties, weight and valid_to replaced)."""
    item = EdgeItem.model_validate(body.model_dump(exclude={"user_id"}))
    edge, created = await graph.upsert_edge(store, body.user_id, item)
    _created_or_ok(response, created)
    return edge


@router.post("/graph", response_model=GraphUpsertRead, summary="upsert up to 100 nodes and 100 edges at once")
async def upsert_graph(body: GraphUpsert, store: GraphDep) -> GraphUpsertRead:
    """One transaction, all or nothing: nodes first, so edges may name them by (type, key)."""
    return await graph.upsert_graph(store, body)


@router.get("/graph/nodes/{node_id}", response_model=NodeRead, responses=error_responses(404), summary="get one node")
async def get_node(node_id: UUID, user_id: UserQuery, store: GraphDep) -> NodeRead:
    node = await store.get_node(user_id, node_id)
    if node is None:
        raise NotFoundError(f"node {node_id} not found", details={"id": str(node_id)})
    return node


@router.delete(
    "/graph/nodes/{node_id}", status_code=204, responses=error_responses(404), summary="delete a node and its edges"
)
async def delete_node(node_id: UUID, user_id: UserQuery, store: GraphDep) -> Response:
    if not await store.delete_node(user_id, node_id):
        raise NotFoundError(f"node {node_id} not found", details={"id": str(node_id)})
    return Response(status_code=204)


@router.delete("/graph/edges/{edge_id}", status_code=204, responses=error_responses(404), summary="delete an edge")
async def delete_edge(edge_id: UUID, user_id: UserQuery, store: GraphDep) -> Response:
    if not await store.delete_edge(user_id, edge_id):
        raise NotFoundError(f"edge {edge_id} not found", details={"id": str(edge_id)})
    return Response(status_code=204)


@router.post(
    "/graph_neighbors",
    response_model=NeighborsRead,
    responses=error_responses(404),
    summary="graph_neighbors: nodes within 1-3 hops",
)
async def graph_neighbors(body: NeighborsQuery, store: GraphDep) -> NeighborsRead:
    """Nearest first, each node once with one shortest path from the origin; 404 for an unknown origin."""
    return await graph.neighbors(store, body)
