"""One user can never read, change, delete, traverse into or link to another user's graph."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.graph import EdgeItem, EdgeUpsert, GraphUpsert, NeighborsQuery, NodeItem, NodeRef, NodeUpsert


@pytest.fixture
async def alices(memory: MemoryGatewayClient) -> dict[str, Any]:
    """Alice's graph: her diary project, linked to a secret tool."""
    result = await memory.upsert_graph(
        GraphUpsert(
            user_id="alice",
            nodes=[
                NodeItem(node_type="project", key="diary", name="Alice's diary", properties={"secret": "yes"}),
                NodeItem(node_type="tool", key="vault"),
            ],
            edges=[
                EdgeItem(
                    source=NodeRef(type="project", key="diary"),
                    target=NodeRef(type="tool", key="vault"),
                    relation="stored_in",
                )
            ],
        )
    )
    diary, vault = result.nodes
    return {"diary": diary, "vault": vault, "edge": result.edges[0]}


async def _status(call: Awaitable[Any]) -> int:
    with pytest.raises(RemoteServiceError) as caught:
        await call
    return caught.value.status_code


async def test_bob_cannot_read_or_delete_alices_nodes_and_edges(
    memory: MemoryGatewayClient, alices: dict[str, Any]
) -> None:
    assert await _status(memory.get_node("bob", alices["diary"].id)) == 404
    assert await _status(memory.delete_node("bob", alices["diary"].id)) == 404
    assert await _status(memory.delete_edge("bob", alices["edge"].id)) == 404
    assert (await memory.get_node("alice", alices["diary"].id)).properties == {"secret": "yes"}
    around = await memory.graph_neighbors(NeighborsQuery(user_id="alice", node=NodeRef(id=alices["diary"].id)))
    assert [e.id for e in around.edges] == [alices["edge"].id]  # the edge survived Bob's delete


async def test_bob_cannot_traverse_from_or_into_alices_graph(
    memory: MemoryGatewayClient, alices: dict[str, Any]
) -> None:
    by_id = NeighborsQuery(user_id="bob", node=NodeRef(id=alices["diary"].id), depth=3)
    assert await _status(memory.graph_neighbors(by_id)) == 404
    by_key = NeighborsQuery(user_id="bob", node=NodeRef(type="project", key="diary"), depth=3)
    assert await _status(memory.graph_neighbors(by_key)) == 404

    # Bob's own node with the same natural key: his traversal finds only his own graph.
    await memory.upsert_node(NodeUpsert(user_id="bob", node_type="project", key="diary"))
    around = await memory.graph_neighbors(by_key)
    assert around.origin.user_id == "bob"
    assert (around.nodes, around.edges) == ([], [])


async def test_an_upsert_by_bob_with_alices_key_creates_bobs_own_node(
    memory: MemoryGatewayClient, alices: dict[str, Any]
) -> None:
    bobs = await memory.upsert_node(NodeUpsert(user_id="bob", node_type="project", key="diary", name="Bob's diary"))
    assert bobs.id != alices["diary"].id
    assert bobs.user_id == "bob"
    untouched = await memory.get_node("alice", alices["diary"].id)
    assert (untouched.name, untouched.properties) == ("Alice's diary", {"secret": "yes"})
    assert untouched.updated_at == alices["diary"].updated_at


async def test_bob_cannot_link_to_alices_nodes(memory: MemoryGatewayClient, alices: dict[str, Any]) -> None:
    await memory.upsert_node(NodeUpsert(user_id="bob", node_type="person", key="bob"))
    for target in (NodeRef(id=alices["diary"].id), NodeRef(type="tool", key="vault")):
        with pytest.raises(RemoteServiceError) as caught:
            await memory.upsert_edge(
                EdgeUpsert(user_id="bob", source=NodeRef(type="person", key="bob"), target=target, relation="reads")
            )
        assert caught.value.status_code == 422
        assert caught.value.details[0]["field"] == "body.target"
        assert "for this user" in caught.value.message

    # Both ends Alice's, written by Bob: refused at the source already.
    with pytest.raises(RemoteServiceError) as both:
        await memory.upsert_edge(
            EdgeUpsert(
                user_id="bob",
                source=NodeRef(id=alices["diary"].id),
                target=NodeRef(id=alices["vault"].id),
                relation="stored_in",
            )
        )
    assert both.value.status_code == 422
    assert both.value.details[0]["field"] == "body.source"


async def test_a_batch_by_bob_naming_alices_node_stores_nothing(
    memory: MemoryGatewayClient, alices: dict[str, Any]
) -> None:
    batch = GraphUpsert(
        user_id="bob",
        nodes=[NodeItem(node_type="person", key="bob")],
        edges=[
            EdgeItem(source=NodeRef(type="person", key="bob"), target=NodeRef(id=alices["vault"].id), relation="opens")
        ],
    )
    with pytest.raises(RemoteServiceError) as caught:
        await memory.upsert_graph(batch)
    assert caught.value.status_code == 422
    assert caught.value.details[0]["field"] == "body.edges.0.target"
    bob = NeighborsQuery(user_id="bob", node=NodeRef(type="person", key="bob"))
    assert await _status(memory.graph_neighbors(bob)) == 404  # Bob's node was rolled back with the edge
