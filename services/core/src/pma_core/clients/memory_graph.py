"""memory-gateway client: graph upserts and graph_neighbors."""

from __future__ import annotations

import uuid
from uuid import UUID

from pma_core.clients.base import ServiceClient
from pma_core.contracts.graph import (
    EdgeRead,
    EdgeUpsert,
    GraphUpsert,
    GraphUpsertRead,
    NeighborsQuery,
    NeighborsRead,
    NodeRead,
    NodeUpsert,
)


class GraphClient(ServiceClient):
    """The memory-gateway's graph upserts and graph_neighbors operations.

    Every call here may be repeated without harm (upserts on natural keys, reads, deletes), so the two POSTs
    carry a fresh idempotency key: the shared client retries a POST only when it has one.
    """

    async def upsert_node(self, node: NodeUpsert) -> NodeRead:
        response = await self.request("PUT", "/v1/graph/nodes", json=node.model_dump(mode="json"))
        return NodeRead.model_validate(response.json())

    async def upsert_edge(self, edge: EdgeUpsert) -> EdgeRead:
        response = await self.request("PUT", "/v1/graph/edges", json=edge.model_dump(mode="json", exclude_none=True))
        return EdgeRead.model_validate(response.json())

    async def upsert_graph(self, batch: GraphUpsert) -> GraphUpsertRead:
        """Nodes then edges in one transaction; replaying it is harmless (every write is an upsert)."""
        response = await self.request(
            "POST",
            "/v1/graph",
            json=batch.model_dump(mode="json", exclude_none=True),
            idempotency_key=str(uuid.uuid4()),
        )
        return GraphUpsertRead.model_validate(response.json())

    async def get_node(self, user_id: str, node_id: UUID) -> NodeRead:
        response = await self.request("GET", f"/v1/graph/nodes/{node_id}", params={"user_id": user_id})
        return NodeRead.model_validate(response.json())

    async def delete_node(self, user_id: str, node_id: UUID) -> None:
        """Delete the node and its edges; 404 (RemoteServiceError) if the user has no such node."""
        await self.request("DELETE", f"/v1/graph/nodes/{node_id}", params={"user_id": user_id})

    async def delete_edge(self, user_id: str, edge_id: UUID) -> None:
        await self.request("DELETE", f"/v1/graph/edges/{edge_id}", params={"user_id": user_id})

    async def graph_neighbors(self, query: NeighborsQuery) -> NeighborsRead:
        response = await self.request(
            "POST",
            "/v1/graph_neighbors",
            json=query.model_dump(mode="json", exclude_none=True),
            idempotency_key=str(uuid.uuid4()),
        )
        return NeighborsRead.model_validate(response.json())
